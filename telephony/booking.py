"""A call's ticket: the caller's open phone ticket (or a new one), and messages added once.

`call_ticket` is the one way to a call's ticket, for the booking run, the sweep and every
callback: whoever needs it first books the call, under the CallLog row lock, once.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from telephony.models import CallLog
from tickets.merging import ticket_merge_target
from tickets.models import (
    ACTIVE_STATUSES,
    Message,
    MessageChannel,
    MessageDirection,
    Ticket,
    TicketChannel,
    TicketStatus,
)
from tickets.services import contact_resolve, message_create, ticket_create

logger = logging.getLogger(__name__)

WITHHELD = "a withheld number"


def phone_ticket_for(*, number: str, name: str, subject: str) -> tuple[Ticket, bool]:
    """(ticket, created): the caller's open phone ticket (or the open ticket their latest
    phone ticket was merged into), or a new one.

    A withheld number always gets a new contact and ticket: nothing ties two such calls.
    """
    if number:
        # One query for the common case of a caller who already has an open phone ticket.
        ticket = (
            Ticket.objects.filter(
                Q(status__in=ACTIVE_STATUSES) | Q(merged_into__status__in=ACTIVE_STATUSES),
                contact__phone=number,
                channel=TicketChannel.PHONE,
            )
            .select_related("contact", "merged_into__contact")
            .order_by("-created_at", "-id")
            .first()
        )
        if ticket is not None:
            return ticket_merge_target(ticket), False
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
    logger.info("call %s from %s booked on ticket %s", call.call_sid, caller, ticket.reference)
    return ticket
