"""Who telephony rings for an inbound call, and the incident a missed call opens.

Who is on call and incidents are the escalation app's; these functions adapt its answers
to a call (E.164 numbers, never the caller's own; one incident per CallSid).
"""

from __future__ import annotations

import logging

from escalation.models import Incident, TriggerReason
from escalation.selectors import phone_chain
from escalation.services import incident_trigger
from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import Ticket

logger = logging.getLogger(__name__)


def _phone_chain() -> list[str]:
    """On-call person, next layer, policy targets, SUPPORT_FORWARD_NUMBER last (escalation)."""
    return phone_chain()


def dial_chain(*, caller: str = "") -> list[str]:
    """E.164 numbers to ring for an inbound call, in order, without duplicates.

    Invalid entries are logged and skipped; the caller's own number is never rung (an
    on-call person testing the line must not be dialled back into their own call).
    """
    chain: list[str] = []
    for raw in _phone_chain():
        try:
            number = to_e164(raw)
        except InvalidPhoneNumber:
            logger.error("on-call chain holds an invalid number %r; skipped", raw)
            continue
        if number != caller and number not in chain:
            chain.append(number)
    return chain


def missed_call_incident(*, ticket: Ticket, call_sid: str, reason: str) -> Incident | None:
    """Open (or find) the incident for a missed call; None when no policy handles missed calls."""
    return incident_trigger(
        ticket=ticket,
        reason=TriggerReason.MISSED_CALL,
        dedup_key=f"call:{call_sid}",
        title=reason[:200],
    )
