"""SMS through Twilio."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from notifications.channels import ChannelError, twilio_client
from supporthub.phone import InvalidPhoneNumber, to_e164

if TYPE_CHECKING:
    from notifications.models import Delivery

# Twilio joins up to 10 segments; longer bodies are cut rather than refused.
MAX_SMS_CHARS = 1600
# Control characters (C0 and C1, but the line feed) and the bidirectional overrides that
# make a text read differently from what it says.
CONTROL_CHARS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sms_text(body: str) -> str:
    """`body` as it may go out by SMS: line breaks as "\\n", no other control characters, cut to
    Twilio's limit."""
    text = CONTROL_CHARS.sub("", body.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= MAX_SMS_CHARS else text[: MAX_SMS_CHARS - 1] + "…"


def e164_recipient(delivery: Delivery) -> str:
    try:
        return to_e164(delivery.recipient)
    except InvalidPhoneNumber as exc:
        raise ChannelError(str(exc), permanent=True) from exc


def send(delivery: Delivery) -> str:
    to = e164_recipient(delivery)
    twilio_client.require_configured()
    return twilio_client.send_sms(
        to=to, body=sms_text(delivery.body), status_callback=(delivery.payload or {}).get("status_callback")
    )
