"""The one place telephony asks the escalation app who to ring and hands it acknowledgements.

SEAM(escalation, issue 5): until `escalation` lands, the chain is SUPPORT_FORWARD_NUMBER
alone, nothing opens incidents and nothing can be acknowledged. Each function below is a
one-line swap for the real call.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings

from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import Ticket

logger = logging.getLogger(__name__)

# "ACK", "ack 12", "ACK #12": an on-call person's reply to an SMS page.
ACK_PATTERN = re.compile(r"^\s*ack(?:\s+#?\d+)?\s*[.!]?\s*$", re.IGNORECASE)


def _phone_chain() -> list[str]:
    # SEAM(escalation): return escalation.selectors.phone_chain()
    return [settings.SUPPORT_FORWARD_NUMBER] if settings.SUPPORT_FORWARD_NUMBER else []


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


def missed_call_incident(*, ticket: Ticket, call_sid: str, reason: str) -> Any:
    """Open (or find) the incident for a missed call; None while escalation is not merged."""
    # SEAM(escalation): return incident_trigger(ticket=ticket, reason=reason, dedup_key=f"call:{call_sid}")
    logger.info("NO-OP incident (escalation app not merged yet) for %s: %s", ticket.reference, reason)
    return None


def is_ack_text(text: str) -> bool:
    return bool(ACK_PATTERN.match(text or ""))


def acknowledge_from_sms(*, from_number: str, text: str) -> Any:
    """The incident that an SMS "ACK" from `from_number` acknowledged, or None."""
    # SEAM(escalation): return incident_acknowledge_from_sms(from_number=from_number, text=text)
    logger.info("NO-OP SMS acknowledgement (escalation app not merged yet) from %s", from_number)
    return None


def acknowledge_from_keypress(*, delivery_id: int, digits: str) -> Any:
    """The incident a key press on paging call `delivery_id` acknowledged, or None."""
    # SEAM(escalation): return incident_acknowledge_from_delivery(delivery_id=delivery_id, digits=digits)
    logger.info("NO-OP keypress acknowledgement (escalation app not merged yet) delivery=%s", delivery_id)
    return None
