"""Mirror an incident into PagerDuty / Opsgenie through the outbox.

The escalation engine calls `incident_paging_mirror` when an incident is triggered on a
step whose channel is a paging service, and again when the incident is acknowledged or
resolved. Each (service, incident, action) is one Delivery with a fixed idempotency key,
so re-running the engine never sends an event twice, and the usual outbox rules apply
(retries with backoff, dead letters in the admin). The incident id is the dedup key on
the provider's side, which ties the trigger, acknowledge and resolve events to one alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from notifications.models import Delivery, DeliveryAudience, DeliveryChannel
from notifications.outbox import delivery_create, pages_stop
from supporthub.exceptions import DomainError

PAGING_CHANNELS = (DeliveryChannel.PAGERDUTY, DeliveryChannel.OPSGENIE)
ACTIONS = ("trigger", "acknowledge", "resolve")
LABELS = {DeliveryChannel.PAGERDUTY: "PagerDuty", DeliveryChannel.OPSGENIE: "Opsgenie"}


def dedup_key(incident_id: int) -> str:
    return f"supporthub-incident-{incident_id}"


def _idempotency_key(channel: str, incident_id: int, action: str) -> str:
    return f"{channel}:incident:{incident_id}:{action}"


def incident_paging_mirror(
    *,
    incident_id: int,
    action: str,
    summary: str,
    details: str = "",
    channels: Iterable[str] | None = None,
    payload: dict | None = None,
) -> list[Delivery]:
    """Queue the `action` event for the incident on each paging service; returns the rows.

    `channels` defaults to, for a trigger, every paging channel; for acknowledge/resolve,
    the services that were sent a trigger for this incident (nothing else has an alert to
    update). Call inside the transaction that changes the incident. Raises DomainError for
    an unknown action or a non-paging channel.
    """
    if action not in ACTIONS:
        raise DomainError(f"Unknown paging action {action!r}.", field="action")
    if channels is None:
        if action == "trigger":
            channels = PAGING_CHANNELS
        else:
            triggered = {_idempotency_key(c, incident_id, "trigger"): c for c in PAGING_CHANNELS}
            keys = Delivery.objects.filter(idempotency_key__in=triggered).values_list(
                "idempotency_key", flat=True
            )
            channels = [triggered[key] for key in keys]
    deliveries = []
    for channel in channels:
        if channel not in PAGING_CHANNELS:
            raise DomainError(f"{channel!r} is not a paging channel.", field="channel")
        deliveries.append(
            delivery_create(
                channel=channel,
                recipient=LABELS[DeliveryChannel(channel)],
                subject=summary,
                body=details or summary,
                idempotency_key=_idempotency_key(channel, incident_id, action),
                payload={**(payload or {}), "action": action, "dedup_key": dedup_key(incident_id)},
                audience=DeliveryAudience.PAGE,
            )
        )
    return deliveries


def configured_paging_channels() -> list[str]:
    """The paging services with credentials (PAGERDUTY_ROUTING_KEY, OPSGENIE_API_KEY)."""
    channels: list[str] = []
    if settings.PAGERDUTY_ROUTING_KEY:
        channels.append(DeliveryChannel.PAGERDUTY)
    if settings.OPSGENIE_API_KEY:
        channels.append(DeliveryChannel.OPSGENIE)
    return channels


def incident_paging_sync(*, incident: Any, action: str) -> list[Delivery]:
    """Called by escalation.services on open / acknowledge / resolve: mirrors the incident to
    every configured paging service (nothing when none is configured). Acknowledged or
    resolved, the incident's pages still waiting for a retry are not sent any more."""
    channels: list[str] | None = None  # acknowledge/resolve: the services that got the trigger
    if action != "trigger":
        pages_stop(incident_id=incident.pk, reason=f"not sent again: the incident was {action}d")
    if action == "trigger":
        channels = configured_paging_channels()
        if not channels:
            return []
    ticket = getattr(incident, "ticket", None)
    details = incident.title
    if ticket is not None:
        details = f"{incident.title}\n{settings.PUBLIC_BASE_URL}/admin/tickets/ticket/{ticket.pk}/change/"
    return incident_paging_mirror(
        incident_id=incident.pk,
        action=action,
        summary=incident.title,
        details=details,
        channels=channels,
        payload={"source": settings.PUBLIC_BASE_URL},
    )
