"""The one seam between escalation and the notifications outbox.

Every page (SMS, voice call, Slack post, email) leaves through `page()`, which hands it to
`notifications.services.delivery_create` (idempotent on `idempotency_key`; the send is
queued on commit). Until the notifications app provides that function the page is only
logged, so escalation stays usable on its own.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

logger = logging.getLogger(__name__)
# Read after the page text on a paging call; the keypress comes back to
# /webhooks/twilio/page?delivery=<id> and the telephony app calls incident_acknowledge_from_delivery.
VOICE_PROMPT = "Press 1 to acknowledge."


def _delivery_create() -> Any:
    try:
        services = importlib.import_module("notifications.services")
    except ImportError:
        return None
    return getattr(services, "delivery_create", None)


def notify(
    *,
    channel: str,
    recipient: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
    ticket: Any = None,
    payload: dict[str, Any] | None = None,
) -> int | None:
    """Queue one notification; returns the notifications Delivery id (None when notifications is absent).

    Raises whatever delivery_create raises for a bad recipient (callers record it).
    """
    create = _delivery_create()
    if create is None:
        logger.warning(
            "notifications outbox not installed: %s to %s %s logged only", idempotency_key, channel, recipient
        )
        return None
    delivery = create(
        channel=channel,
        recipient=recipient,
        body=body,
        subject=subject,
        idempotency_key=idempotency_key,
        ticket=ticket,
        payload=payload,
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
) -> int | None:
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
    )
