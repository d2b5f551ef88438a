"""An inbound call: what the caller hears first, and the ticket the call is booked on.

The webhook answers from the CallLog alone (one INSERT) and queues the booking: a task
that finds the caller's open phone ticket or creates contact + ticket and adds the
"Incoming call" message. One booking run serves a burst of calls: a call queues a run only
when none is queued yet (`booking_queue`), and the run books every call still waiting.
Every later callback (dial result, status, recording, transcription) may overtake the run,
so all of them get the ticket through `call_ticket`, which books the call under the CallLog
row lock: whoever comes first books it, once. A beat sweep books calls whose run was lost
(broker down, worker killed).
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from notifications import builders
from supporthub.tasks import publish
from telephony import oncall
from telephony.models import CallDirection, CallLog, CallOutcome, CallStatus
from tickets.models import Message, MessageChannel, MessageDirection, Ticket, TicketChannel, TicketStatus
from tickets.services import contact_resolve, message_create, ticket_create

logger = logging.getLogger(__name__)

WITHHELD = "a withheld number"
SWEEP_BATCH = 500
# Set while a booking run is queued and not yet started; expires in case the run is lost.
BOOKING_TASK = "telephony.calls_book_pending"
BOOKING_QUEUED_KEY = "telephony:booking-queued"
BOOKING_QUEUED_SECONDS = 10


# --- What the caller hears next ------------------------------------------------------------
@dataclass(frozen=True)
class Dial:
    number: str
    attempt: int
    retry: bool = False  # True when an earlier person did not answer


@dataclass(frozen=True)
class Voicemail:
    pass


@dataclass(frozen=True)
class Goodbye:
    text: str = ""


CallStep = Dial | Voicemail | Goodbye


def first_step(call: CallLog) -> CallStep:
    if call.dial_targets:
        return Dial(number=call.dial_targets[0], attempt=0)
    return Voicemail()


# --- Phone tickets and their messages ----------------------------------------------------------
def phone_ticket_for(*, number: str, name: str, subject: str) -> tuple[Ticket, bool]:
    """(ticket, created): the caller's open phone ticket, or a new one.

    A withheld number always gets a new contact and ticket: nothing ties two such calls.
    """
    if number:
        # One query for the common case of a caller who already has an open phone ticket.
        ticket = (
            Ticket.objects.active()
            .filter(contact__phone=number, channel=TicketChannel.PHONE)
            .select_related("contact")
            .order_by("-created_at", "-id")
            .first()
        )
        if ticket is not None:
            return ticket, False
    contact = contact_resolve(name=name or number or "Caller with withheld number", phone=number or None)
    return ticket_create(contact=contact, subject=subject, channel=TicketChannel.PHONE), True


def message_once(
    *, ticket: Ticket, key: str, body: str, direction: str, channel: str | None = None
) -> Message | None:
    """Add a message whose external_id is `key` unless one exists; None if it did."""
    if Message.objects.filter(external_id=key).exists():
        return None
    author = ticket.contact if direction == MessageDirection.INBOUND else None
    try:
        with transaction.atomic():
            return message_create(
                ticket=ticket,
                direction=direction,
                channel=channel,
                body=body,
                author_contact=author,
                external_id=key,
            )
    except IntegrityError:  # a concurrent retry of the same callback wrote it first
        return None


# --- Inbound call --------------------------------------------------------------------------
def _savepoint_if_nested() -> AbstractContextManager[Any]:
    """A savepoint inside a caller's transaction; nothing in autocommit (the webhook), where a
    failed INSERT leaves nothing to roll back and BEGIN/COMMIT would cost two round trips."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def call_inbound_receive(
    *, call_sid: str, from_number: str, to_number: str, caller_name: str = "", payload: dict[str, Any]
) -> tuple[CallLog, CallStep]:
    """Log a new inbound call and decide what the caller hears first.

    The call is booked on a ticket a moment later (see the module docstring). A retried
    webhook for the same CallSid hits the unique index and gets the same answer from the
    existing row; nothing is written or queued again.
    """
    targets = oncall.dial_chain(caller=from_number)
    call = CallLog(
        call_sid=call_sid,
        direction=CallDirection.INBOUND,
        from_number=from_number,
        caller_name=caller_name,
        to_number=to_number,
        status=CallStatus.RINGING,
        # Nobody to ring: straight to voicemail; the booking notes the miss.
        outcome=CallOutcome.PENDING if targets else CallOutcome.VOICEMAIL,
        dial_targets=targets,
        dial_attempts=1 if targets else 0,
        forwarded_to=targets[0] if targets else "",
        started_at=timezone.now(),
        ticket_pending=True,
        last_payload=payload,
    )
    try:
        with _savepoint_if_nested():
            call.save(force_insert=True)
    except IntegrityError:
        existing = CallLog.objects.filter(call_sid=call_sid).first()
        if existing is None:
            raise
        return existing, first_step(existing)
    if not targets:
        logger.warning("call %s: nobody to ring (no on-call chain, no SUPPORT_FORWARD_NUMBER)", call_sid)
    transaction.on_commit(booking_queue)
    return call, first_step(call)


def booking_queue() -> None:
    """Queue a booking run unless one is queued already (called once the CallLog is committed).

    One cache write per call instead of one Celery publish per call (a publish costs the
    webhook more). No call is missed: the run clears the flag before it reads the waiting
    calls, so a call committed before the clear is read by that run, and one that finds the
    flag cleared queues the next run. With Redis or the broker down the beat sweep books the call.
    """
    try:
        if not cache.add(BOOKING_QUEUED_KEY, 1, timeout=BOOKING_QUEUED_SECONDS):
            return
    except Exception:  # the cache is down: publish anyway; the broker may still be up
        logger.warning("cache unavailable; queueing a booking run for this call alone")
    if not publish(BOOKING_TASK):
        with contextlib.suppress(Exception):
            cache.delete(BOOKING_QUEUED_KEY)  # the next call tries again


# --- Booking the call on a ticket ----------------------------------------------------------
def _open_ticket(ticket_id: int | None) -> Ticket | None:
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    return ticket if ticket is not None and ticket.status != TicketStatus.CLOSED else None


def call_ticket(call: CallLog) -> Ticket:
    """The call's open ticket; books the call on one first if it has none yet.

    The one way to a call's ticket, for the booking run, the sweep and every callback. A call
    whose ticket an agent closed (or deleted) mid-call moves to the caller's open phone ticket
    or a new one. Booking locks the CallLog row and looks again, so the task and a callback
    racing it never create two tickets, and the "Incoming call" message is added once.
    """
    ticket = _open_ticket(call.ticket_id)
    if ticket is None:
        with transaction.atomic():
            locked = CallLog.objects.select_for_update().get(pk=call.pk)
            ticket = _open_ticket(locked.ticket_id) or _book(locked)
        call.ticket = ticket
    return ticket


def _book(call: CallLog) -> Ticket:
    """Put `call` (row locked) and its forwarded legs on the caller's phone ticket."""
    caller = call.from_number or WITHHELD
    ticket, _ = phone_ticket_for(
        number=call.from_number, name=call.caller_name, subject=f"Phone call from {caller}"
    )
    CallLog.objects.filter(Q(pk=call.pk) | Q(parent=call.pk)).update(
        ticket=ticket, ticket_pending=False, updated_at=timezone.now()
    )
    call.ticket = ticket
    name = f" ({call.caller_name})" if call.caller_name else ""
    message_once(
        ticket=ticket,
        key=call.call_sid,
        body=f"Incoming call from {caller}{name}.",
        direction=MessageDirection.INBOUND,
        channel=MessageChannel.PHONE,
    )
    if not call.dial_targets:
        call_missed(call, "Nobody could be rung (no one on call). The caller was offered voicemail.")
    logger.info("call %s from %s booked on ticket %s", call.call_sid, caller, ticket.reference)
    return ticket


def call_ticket_attach(*, call_id: int) -> Ticket | None:
    """Book a logged call on its ticket (the booking run and the sweep).

    None, and nothing done, when the call is gone or already booked: a replayed task is a
    no-op, and a ticket an agent deleted after the call is not brought back.
    """
    call = CallLog.objects.filter(pk=call_id, ticket_pending=True).first()
    return call_ticket(call) if call is not None else None


def calls_book_pending() -> int:
    """The booking run: book every call still waiting for its ticket; how many were booked."""
    with contextlib.suppress(Exception):  # a cache outage must not stop the bookings
        cache.delete(BOOKING_QUEUED_KEY)  # first: see booking_queue
    return _book_waiting(CallLog.objects.filter(ticket_pending=True))


def calls_ticket_sweep() -> int:
    """Book the calls still without a ticket TELEPHONY_TICKET_SWEEP_SECONDS after they came in.

    Their booking run was lost (broker down when the call came in, worker killed). Returns
    how many calls were booked.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.TELEPHONY_TICKET_SWEEP_SECONDS)
    booked = _book_waiting(CallLog.objects.filter(ticket_pending=True, created_at__lte=cutoff))
    if booked:
        logger.warning("%s calls still had no ticket (booking run lost); booked them now", booked)
    return booked


def _book_waiting(calls: QuerySet[CallLog]) -> int:
    """Book `calls` oldest first, SWEEP_BATCH ids per query; one that fails is logged and left
    for the next sweep."""
    booked, after = 0, 0
    while ids := list(calls.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]):
        for call_id in ids:
            try:
                if call_ticket_attach(call_id=call_id) is not None:
                    booked += 1
            except Exception:
                logger.exception("call %s: booking it failed; the next sweep tries again", call_id)
        after = ids[-1]
    return booked


# --- Missed calls --------------------------------------------------------------------------
def call_missed(call: CallLog, reason: str) -> None:
    """Note the missed call on the ticket, tell the team and open an incident, once per call."""
    ticket = call_ticket(call)
    note = message_once(
        ticket=ticket,
        key=f"{call.call_sid}:missed",
        body=f"Missed call from {call.from_number or WITHHELD}. {reason}",
        direction=MessageDirection.NOTE,
    )
    if note is None:
        return
    builders.ticket_notice(
        ticket=ticket,
        subject=f"Missed call from {call.from_number or WITHHELD} ({ticket.reference})",
        body=note.body,
        key=f"call:{call.call_sid}:missed",
        message=note,
    )
    oncall.missed_call_incident(ticket=ticket, call_sid=call.call_sid, reason=note.body)
