"""An inbound call: what the caller hears first, and the runs that book calls on tickets.

The webhook answers from the CallLog alone (one INSERT) and queues the booking: a task
that finds the caller's open phone ticket or creates contact + ticket and adds the
"Incoming call" message. One booking run serves a burst of calls: a call queues a run only
when none is queued yet (`booking_queue`), and the run books every call still waiting.
Every later callback (dial result, status, recording, transcription) may overtake the run,
so all of them get the ticket through `telephony.booking.call_ticket`, which books the call
under the CallLog row lock: whoever comes first books it, once. A beat sweep books calls
whose run was lost (broker down, worker killed).
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from supporthub.tasks import publish
from telephony import oncall
from telephony.booking import call_ticket
from telephony.models import CallDirection, CallLog, CallStatus
from telephony.outcome import call_outcome_settle
from tickets.models import Ticket

logger = logging.getLogger(__name__)

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


# --- Inbound call --------------------------------------------------------------------------
def _savepoint_if_nested() -> AbstractContextManager[Any]:
    """A savepoint inside a caller's transaction; nothing in autocommit (the webhook), where a
    failed INSERT leaves nothing to roll back and BEGIN/COMMIT would cost two round trips."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def call_inbound_receive(
    *,
    call_sid: str,
    from_number: str,
    to_number: str,
    caller_name: str = "",
    payload: dict[str, Any],
    dial_targets: list[str] | None = None,
    received_at: datetime | None = None,
) -> tuple[CallLog, CallStep]:
    """Log a new inbound call and decide what the caller hears first.

    The call is booked on a ticket a moment later (see the module docstring). A retried
    webhook for the same CallSid hits the unique index and gets the same answer from the
    existing row; nothing is written or queued again. `dial_targets` and `received_at` are
    given for a call replayed from the outage spool (the numbers it rang, when it came in).
    """
    targets = oncall.dial_chain(caller=from_number) if dial_targets is None else dial_targets
    call = CallLog(
        call_sid=call_sid,
        direction=CallDirection.INBOUND,
        from_number=from_number,
        caller_name=caller_name,
        to_number=to_number,
        status=CallStatus.RINGING,
        dial_targets=targets,
        dial_attempts=1 if targets else 0,
        forwarded_to=targets[0] if targets else "",
        started_at=received_at or timezone.now(),
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


# --- Booking runs and the sweep ---------------------------------------------------------
def call_ticket_attach(*, call_id: int) -> Ticket | None:
    """Book a logged call on its ticket (the booking run and the sweep).

    None, and nothing done, when the call is gone or already booked: a replayed task is a
    no-op, and a ticket an agent deleted after the call is not brought back.
    """
    call = CallLog.objects.filter(pk=call_id, ticket_pending=True).first()
    if call is None:
        return None
    ticket = call_ticket(call)
    call_outcome_settle(call_id=call.pk)  # a call with nobody to ring is missed from the start
    return ticket


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
