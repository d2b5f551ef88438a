"""The one place telephony asks the escalation app who to ring and hands it acknowledgements.

Who is on call, incidents and acknowledgements are the escalation app's; these thin
functions keep telephony's use of it in one module.
"""

from __future__ import annotations

import logging
import re

from escalation.models import Incident, TriggerReason
from escalation.selectors import phone_chain
from escalation.services import (
    incident_acknowledge_from_delivery,
    incident_acknowledge_from_sms,
    incident_trigger,
)
from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import Ticket

logger = logging.getLogger(__name__)

# "ACK", "ack 12", "ACK #12": an on-call person's reply to an SMS page.
ACK_PATTERN = re.compile(r"^\s*ack(?:\s+#?\d+)?\s*[.!]?\s*$", re.IGNORECASE)


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


def is_ack_text(text: str) -> bool:
    return bool(ACK_PATTERN.match(text or ""))


def acknowledge_from_sms(*, from_number: str, text: str) -> Incident | None:
    """The incident that an SMS "ACK" from `from_number` acknowledged, or None."""
    return incident_acknowledge_from_sms(from_number=from_number, text=text)


def acknowledge_from_keypress(*, delivery_id: int, digits: str) -> Incident | None:
    """The incident a key press on paging call `delivery_id` acknowledged, or None."""
    return incident_acknowledge_from_delivery(delivery_id=delivery_id, digits=digits)
