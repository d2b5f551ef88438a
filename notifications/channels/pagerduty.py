"""PagerDuty Events API v2: trigger, acknowledge and resolve mirror a SupportHub incident.

`delivery.payload`: `action` (trigger|acknowledge|resolve, default trigger), `dedup_key`
(the incident, e.g. "incident-42": the same key ties the three events to one PagerDuty
alert, and makes a repeated trigger a no-op on their side), optional `severity`
(critical|error|warning|info), `source`, `routing_key` (else PAGERDUTY_ROUTING_KEY),
`custom_details`. `delivery.subject or delivery.body` is the alert summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from notifications.channels import ChannelError, ChannelNotConfigured
from notifications.channels.http import json_object, post_json

if TYPE_CHECKING:
    from notifications.models import Delivery

ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})
SEVERITIES = frozenset({"critical", "error", "warning", "info"})


def send(delivery: Delivery) -> str:
    payload = delivery.payload or {}
    routing_key = payload.get("routing_key") or settings.PAGERDUTY_ROUTING_KEY
    if not routing_key:
        raise ChannelNotConfigured("PAGERDUTY_ROUTING_KEY is not set")
    action = payload.get("action", "trigger")
    if action not in ACTIONS:
        raise ChannelError(f"unknown PagerDuty action {action!r}", permanent=True)
    dedup_key = payload.get("dedup_key")
    if not dedup_key:
        raise ChannelError("a PagerDuty event needs a dedup_key (the incident)", permanent=True)

    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": str(dedup_key)}
    if action == "trigger":
        severity = payload.get("severity", "critical")
        event["payload"] = {
            "summary": (delivery.subject or delivery.body)[:1024],
            "source": payload.get("source") or settings.PUBLIC_BASE_URL,
            "severity": severity if severity in SEVERITIES else "critical",
            "custom_details": payload.get("custom_details") or {"body": delivery.body},
        }
        if payload.get("links"):
            event["links"] = payload["links"]
    response = post_json(
        settings.PAGERDUTY_EVENTS_URL,
        event,
        provider="PagerDuty",
        ok=(202,),
        timeout=float(settings.PAGERDUTY_TIMEOUT_SECONDS),
        default_retry_after=30.0,
    )
    return str(json_object(response).get("dedup_key") or dedup_key)
