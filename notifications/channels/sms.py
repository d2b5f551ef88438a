"""SMS through Twilio."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifications.channels import ChannelError, twilio_client
from supporthub.phone import InvalidPhoneNumber, to_e164

if TYPE_CHECKING:
    from notifications.models import Delivery

# Twilio joins up to 10 segments; longer bodies are cut rather than refused.
MAX_SMS_CHARS = 1600


def e164_recipient(delivery: Delivery) -> str:
    try:
        return to_e164(delivery.recipient)
    except InvalidPhoneNumber as exc:
        raise ChannelError(str(exc), permanent=True) from exc


def send(delivery: Delivery) -> str:
    to = e164_recipient(delivery)
    twilio_client.require_configured()
    body = delivery.body if len(delivery.body) <= MAX_SMS_CHARS else delivery.body[: MAX_SMS_CHARS - 1] + "…"
    return twilio_client.send_sms(
        to=to, body=body, status_callback=(delivery.payload or {}).get("status_callback")
    )
