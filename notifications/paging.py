"""Mirror an incident into PagerDuty / Opsgenie through the outbox.

Escalation calls `incident_paging_sync` when an incident opens, is acknowledged, is
resolved, and is paged again after its ack timeout. Each (service, incident, re-page,
action) is one Delivery with a fixed idempotency key, so re-running the engine never sends
an event twice, and the usual outbox rules apply (retries with backoff, dead letters in the
admin). The incident id (and the re-page number after the first) is the dedup key on the
provider's side, which ties the trigger, acknowledge and resolve events to one alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings

from notifications.models import Delivery, DeliveryAudience, DeliveryChannel
from notifications.outbox import delivery_create, pages_stop
from supporthub.exceptions import DomainError

PAGING_CHANNELS = (DeliveryChannel.PAGERDUTY, DeliveryChannel.OPSGENIE)
ACTIONS = ("trigger", "acknowledge", "resolve")
LABELS = {DeliveryChannel.PAGERDUTY: "PagerDuty", DeliveryChannel.OPSGENIE: "Opsgenie"}


def dedup_key(incident_id: int, repage: int = 0) -> str:
    """The provider's alert key: one alert per incident and re-page (a provider folds a
    trigger into an open alert with the same key without notifying anyone again)."""
    return f"supporthub-incident-{incident_id}" + (f"-{repage}" if repage else "")


def _idempotency_key(channel: str, incident_id: int, action: str, repage: int = 0) -> str:
    return f"{channel}:incident:{incident_id}:" + (f"r{repage}:" if repage else "") + action


def incident_paging_mirror(
    *,
    incident_id: int,
    action: str,
    summary: str,
    details: str = "",
    channels: Iterable[str] | None = None,
    payload: dict | None = None,
    repage: int = 0,
) -> list[Delivery]:
    """Queue the `action` event for the incident's alert of re-page `repage` on each paging
    service; returns the rows.

    `channels` defaults to, for a trigger, every paging channel; for acknowledge/resolve,
    the services that were sent that alert's trigger (nothing else has an alert to
    update). Call inside the transaction that changes the incident. Raises DomainError for
    an unknown action or a non-paging channel.
    """
    if action not in ACTIONS:
        raise DomainError(f"Unknown paging action {action!r}.", field="action")
    if channels is None:
        if action == "trigger":
            channels = PAGING_CHANNELS
        else:
            triggered = {_idempotency_key(c, incident_id, "trigger", repage): c for c in PAGING_CHANNELS}
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
                idempotency_key=_idempotency_key(channel, incident_id, action, repage),
                payload={**(payload or {}), "action": action, "dedup_key": dedup_key(incident_id, repage)},
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
    """Mirror the incident's open / acknowledge / resolve to every configured paging service
    (nothing when none is configured); returns the rows.

    A trigger after an ack timeout (`incident.repages` > 0) resolves the alert that was
    acknowledged there and triggers a new one, so the provider notifies its on-call again.
    Acknowledged or resolved, the incident's pages still waiting for a retry are not sent
    any more.
    """
    repage = int(incident.repages or 0)
    ticket = getattr(incident, "ticket", None)
    details = incident.title
    if ticket is not None:
        details = f"{incident.title}\n{settings.PUBLIC_BASE_URL}/admin/tickets/ticket/{ticket.pk}/change/"
    mirror = partial(
        incident_paging_mirror,
        incident_id=incident.pk,
        summary=incident.title,
        payload={"source": settings.PUBLIC_BASE_URL},
    )
    if action != "trigger":  # acknowledge/resolve: the services that got this alert's trigger
        pages_stop(incident_id=incident.pk, reason=f"not sent again: the incident was {action}d")
        return mirror(action=action, details=details, repage=repage)
    channels = configured_paging_channels()
    if not channels:
        return []
    superseded = []
    if repage:
        superseded = mirror(
            action="resolve", details="Not resolved in time: paged again as a new alert.", repage=repage - 1
        )
    return superseded + mirror(action="trigger", details=details, channels=channels, repage=repage)
