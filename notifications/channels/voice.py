"""A Twilio phone call that reads the delivery body and takes one keypress.

The keypress is posted to {PUBLIC_BASE_URL}/webhooks/twilio/page?delivery=<id>, the call's
status callbacks (with Twilio's answering machine verdict) to
{PUBLIC_BASE_URL}/webhooks/twilio/page/status?delivery=<id> (both handled by the telephony
app; see docs/notifications.md for the contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from notifications.channels import twilio_client
from notifications.channels.sms import e164_recipient

if TYPE_CHECKING:
    from notifications.models import Delivery

DEFAULT_PROMPT = "Press 1 to acknowledge."
# Twilio refuses inline TwiML over 4000 characters; the text is read twice.
MAX_SPOKEN_CHARS = 1500


def page_action_url(delivery_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/page?delivery={delivery_id}"


def page_status_url(delivery_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/page/status?delivery={delivery_id}"


def send(delivery: Delivery) -> str:
    to = e164_recipient(delivery)
    twilio_client.require_configured()
    payload = delivery.payload or {}
    twiml = payload.get("twiml") or twilio_client.paging_twiml(
        text=delivery.body[:MAX_SPOKEN_CHARS],
        action_url=page_action_url(delivery.pk),
        prompt=payload.get("prompt") or DEFAULT_PROMPT,
    )
    return twilio_client.place_call(
        to=to, twiml=twiml, status_callback=payload.get("status_callback") or page_status_url(delivery.pk)
    )
