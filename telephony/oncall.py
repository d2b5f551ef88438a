"""Who telephony rings for an inbound call, and the incident a missed call opens.

Who is on call and incidents are the escalation app's; these functions adapt its answers
to a call (E.164 numbers, never the caller's own; one incident per CallSid).
"""

from __future__ import annotations

import logging

from django.conf import settings

from escalation.models import Incident, TriggerReason
from escalation.selectors import phone_chain
from escalation.services import incident_trigger
from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import Ticket

logger = logging.getLogger(__name__)


def _phone_chain() -> list[str]:
    """On-call person, next layer, policy targets, SUPPORT_FORWARD_NUMBER last (escalation)."""
    return phone_chain()


def forward_number() -> str:
    """SUPPORT_FORWARD_NUMBER in E.164, or "" (settings only: safe during a database outage)."""
    try:
        return to_e164(settings.SUPPORT_FORWARD_NUMBER) if settings.SUPPORT_FORWARD_NUMBER else ""
    except InvalidPhoneNumber:  # refused at start-up; a test may still set one
        return ""


def dial_chain(*, caller: str = "") -> list[str]:
    """E.164 numbers to ring for an inbound call, in order, without duplicates.

    The first TELEPHONY_DIAL_ATTEMPTS voice numbers of the on-call chain, then always
    SUPPORT_FORWARD_NUMBER (unless already among them), so the forward number is rung before
    the caller is offered voicemail. Invalid entries are logged and skipped; the caller's own
    number is never rung (an on-call person testing the line must not be dialled back into
    their own call).
    """
    numbers: list[str] = []
    for raw in _phone_chain():
        try:
            number = to_e164(raw)
        except InvalidPhoneNumber:
            logger.error("on-call chain holds an invalid number %r; skipped", raw)
            continue
        if number != caller and number not in numbers:
            numbers.append(number)
    forward = forward_number()
    if forward and numbers and numbers[-1] == forward:
        numbers.pop()  # escalation puts it last; it is added back below, after the people
    chain = numbers[: max(1, settings.TELEPHONY_DIAL_ATTEMPTS)]
    if forward and forward != caller and forward not in chain:
        chain.append(forward)
    return chain


def missed_call_incident(*, ticket: Ticket, call_sid: str, reason: str) -> Incident | None:
    """Open (or find) the incident for a missed call; None when no policy handles missed calls."""
    return incident_trigger(
        ticket=ticket,
        reason=TriggerReason.MISSED_CALL,
        dedup_key=f"call:{call_sid}",
        title=reason[:200],
    )
