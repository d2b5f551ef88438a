"""The one seam between escalation and the notifications outbox.

Every page (SMS, voice call, Slack post, email) leaves through `page_new()` and
`pages_save()`, a batch of pages at a time, or `notify()`; the outbox writes them idempotently
on `idempotency_key` and queues their sends on commit.
"""

from __future__ import annotations

import logging
from typing import Any

from escalation.slack_blocks import incident_blocks
from notifications.channels import slack_api
from notifications.channels.slack import slack_escape
from notifications.channels.voice import DEFAULT_PROMPT
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus
from notifications.outbox import deliveries_save, delivery_create, delivery_new
from notifications.recipients import slack_chooses_channel
from supporthub.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
# Read after the page text on a paging call; the keypress comes back to
# /webhooks/twilio/page?delivery=<id> and the telephony app calls incident_acknowledge_from_delivery.
VOICE_PROMPT = DEFAULT_PROMPT
SLACK_REFRESH_TASK = "escalation.slack_message_refresh"


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


def page_new(
    *,
    incident: Any,
    channel: str,
    recipient: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
) -> Delivery:
    """The Delivery of one page for `incident`, not yet saved (`pages_save`). A voice page
    asks for a keypress to acknowledge; a Slack page posted with the bot token carries
    Acknowledge, Resolve and Escalate buttons.

    Raises what delivery_new raises for a bad recipient (callers record it).
    """
    payload: dict[str, Any] = {"incident": incident.pk}
    if channel == "voice":
        payload["prompt"] = VOICE_PROMPT
    elif channel == "slack" and slack_chooses_channel():
        payload["blocks"] = incident_blocks(incident)
    return delivery_new(
        channel=channel,
        recipient=recipient,
        body=slack_escape(body) if channel == "slack" else body,  # titles hold customer text
        subject=subject,
        idempotency_key=idempotency_key,
        ticket=incident.ticket,
        payload=payload,
        audience="page",  # retried until the incident is acknowledged or resolved
    )


def pages_save(deliveries: list[Delivery]) -> list[Delivery]:
    """Write the pages' new deliveries in one INSERT, their sends queued on commit; returns
    them in order, each replaced by the existing Delivery when its idempotency key has one."""
    existing = Delivery.objects.in_bulk([d.idempotency_key for d in deliveries], field_name="idempotency_key")
    new = {d.idempotency_key: d for d in deliveries if d.idempotency_key not in existing}
    deliveries_save(list(new.values()))
    return [existing.get(d.idempotency_key) or new[d.idempotency_key] for d in deliveries]


def slack_pages(incident_id: int) -> set[tuple[str, str]]:
    """(channel id, ts) of each Slack page of the incident posted with the bot token (an
    incoming webhook's post cannot be edited, so it is not among them)."""
    refs = Delivery.objects.filter(
        channel=DeliveryChannel.SLACK,
        payload__incident=incident_id,
        status__in=(DeliveryStatus.SENT, DeliveryStatus.UNCONFIRMED),
    ).values_list("provider_id", flat=True)
    return {message for ref in refs if (message := slack_api.message_ref_parse(ref))}


def slack_pages_redraw(incident_id: int) -> None:
    """Once the change commits, redraw every Slack page of the incident (chat.update) from its
    state, so that each shows it however it changed: Slack, the API, an SMS, the admin, the
    engine."""
    for channel_id, ts in sorted(slack_pages(incident_id)):
        enqueue_on_commit(SLACK_REFRESH_TASK, incident_id, channel_id, ts)
