"""The one seam between escalation and the notifications outbox.

Every page (SMS, voice call, Slack post, email) leaves through `page()` or `notify()`, which
hand it to `notifications.outbox.delivery_create` (idempotent on `idempotency_key`; the
send is queued on commit).
"""

from __future__ import annotations

import logging
from typing import Any

from notifications.channels.slack import slack_escape
from notifications.outbox import delivery_create

logger = logging.getLogger(__name__)
# Read after the page text on a paging call; the keypress comes back to
# /webhooks/twilio/page?delivery=<id> and the telephony app calls incident_acknowledge_from_delivery.
VOICE_PROMPT = "Press 1 to acknowledge."


def notify(
    *,
    channel: str,
    recipient: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
    ticket: Any = None,
    payload: dict[str, Any] | None = None,
    audience: str = "team",
) -> int:
    """Queue one notification; returns the notifications Delivery id. `audience` (team, page)
    decides how long the outbox retries it.

    Raises whatever delivery_create raises for a bad recipient (callers record it).
    """
    delivery = delivery_create(
        channel=channel,
        recipient=recipient,
        body=slack_escape(body) if channel == "slack" else body,  # titles hold customer text
        subject=subject,
        idempotency_key=idempotency_key,
        ticket=ticket,
        payload=payload,
        audience=audience,
    )
    return int(delivery.pk)


def page(
    *,
    incident: Any,
    channel: str,
    recipient: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
) -> int:
    """Queue one page for `incident` (see notify). A voice page asks for a keypress to acknowledge."""
    payload: dict[str, Any] = {"incident": incident.pk}
    if channel == "voice":
        payload["prompt"] = VOICE_PROMPT
    return notify(
        channel=channel,
        recipient=recipient,
        body=body,
        subject=subject,
        idempotency_key=idempotency_key,
        ticket=incident.ticket,
        payload=payload,
        audience="page",  # retried until the incident is acknowledged or resolved
    )
