"""Opsgenie Alert API: create, acknowledge and close an alert that mirrors an incident.

`delivery.payload`: `action` (trigger|acknowledge|resolve, default trigger), `dedup_key`
(sent as the alert `alias`: Opsgenie de-duplicates open alerts with the same alias, and
acknowledge/close address the alert by it), optional `priority` (P1..P5), `responders`,
`tags`. `delivery.subject or delivery.body` is the alert message (130 chars max).

Opsgenie answers 202 and processes asynchronously; the returned `requestId` is kept as
the provider id.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from django.conf import settings

from notifications.channels import ChannelError, ChannelNotConfigured

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
    try:
        response = _session().post(
            url,
            json=body,
            headers={"Authorization": f"GenieKey {api_key}"},
            timeout=(3.05, float(settings.OPSGENIE_TIMEOUT_SECONDS)),
        )
    except requests.RequestException as exc:
        raise ChannelError(f"Opsgenie request failed: {exc.__class__.__name__}") from exc

    if response.status_code in (200, 202):
        data = _json(response)
        return str(data.get("requestId") or alias)
    detail = f"Opsgenie {response.status_code}: {response.text[:200]}"
    if response.status_code == 429:
        raise ChannelError(detail, retry_after=_seconds(response.headers.get("Retry-After")) or 10.0)
    if 400 <= response.status_code < 500:
        # 401/403 bad key, 404 no such alert, 422 invalid: no retry fixes these.
        raise ChannelError(detail, permanent=True)
    raise ChannelError(detail)


@functools.cache
def _session() -> requests.Session:
    return requests.Session()


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
