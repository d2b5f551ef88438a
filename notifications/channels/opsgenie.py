"""Opsgenie Alert API: create, acknowledge and close an alert that mirrors an incident.

`delivery.payload`: `action` (trigger|acknowledge|resolve, default trigger), `dedup_key`
(sent as the alert `alias`: Opsgenie de-duplicates open alerts with the same alias, and
acknowledge/close address the alert by it), optional `priority` (P1..P5), `responders`,
`tags`. `delivery.subject or delivery.body` is the alert message (130 chars max).

Opsgenie answers 202 and processes asynchronously; the returned `requestId` is kept as
the provider id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings

from notifications.channels import ChannelError, ChannelNotConfigured
from notifications.channels.http import json_object, post_json

if TYPE_CHECKING:
    from notifications.models import Delivery

PRIORITIES = frozenset({"P1", "P2", "P3", "P4", "P5"})


def send(delivery: Delivery) -> str:
    payload = delivery.payload or {}
    api_key = settings.OPSGENIE_API_KEY
    if not api_key:
        raise ChannelNotConfigured("OPSGENIE_API_KEY is not set")
    action = payload.get("action", "trigger")
    alias = payload.get("dedup_key")
    if not alias:
        raise ChannelError("an Opsgenie alert needs a dedup_key (the incident)", permanent=True)
    base = settings.OPSGENIE_API_URL.rstrip("/") + "/v2/alerts"
    source = {"source": "SupportHub", "user": "SupportHub"}
    if action == "trigger":
        priority = payload.get("priority", "P1")
        url, body = (
            base,
            {
                "message": (delivery.subject or delivery.body)[:130],
                "alias": str(alias)[:512],
                "description": delivery.body[:15000],
                "priority": priority if priority in PRIORITIES else "P1",
                **source,
            },
        )
        for key in ("responders", "tags", "details"):
            if payload.get(key):
                body[key] = payload[key]
    elif action in ("acknowledge", "resolve"):
        verb = "acknowledge" if action == "acknowledge" else "close"
        url = f"{base}/{quote(str(alias), safe='')}/{verb}?identifierType=alias"
        body = {**source, "note": delivery.body[:25000]}
    else:
        raise ChannelError(f"unknown Opsgenie action {action!r}", permanent=True)
    response = post_json(
        url,
        body,
        provider="Opsgenie",
        ok=(200, 202),
        timeout=float(settings.OPSGENIE_TIMEOUT_SECONDS),
        default_retry_after=10.0,
        headers={"Authorization": f"GenieKey {api_key}"},
    )
    return str(json_object(response).get("requestId") or alias)
