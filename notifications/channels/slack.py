"""Slack incoming webhooks: about one message per second per webhook, Retry-After on 429."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.core.cache import cache

from notifications.channels import ChannelDeferred, ChannelError, ChannelNotConfigured

if TYPE_CHECKING:
    from notifications.models import Delivery

# Slack's answers that no retry can fix: invalid_payload, action_prohibited,
# channel_not_found / no_service (404), channel_is_archived (410).
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410})


def send(delivery: Delivery) -> str:
    payload = delivery.payload or {}
    url = payload.get("webhook_url") or settings.SLACK_WEBHOOK_URL
    if not url:
        raise ChannelNotConfigured("SLACK_WEBHOOK_URL is not set")
    wait = reserve_slot(url, float(settings.SLACK_MIN_INTERVAL_SECONDS))
    if wait > 0:
        raise ChannelDeferred(wait)

    body: dict[str, Any] = {"text": delivery.body}
    if payload.get("blocks"):
        body["blocks"] = payload["blocks"]
    for key, setting in (("channel", "SLACK_CHANNEL"), ("username", "SLACK_USERNAME"), ("icon_emoji", "SLACK_ICON_EMOJI")):
        value = payload.get(key) or getattr(settings, setting, "")
        if value:
            body[key] = value
    try:
        response = requests.post(url, json=body, timeout=(3.05, float(settings.SLACK_TIMEOUT_SECONDS)))
    except requests.RequestException as exc:
        raise ChannelError(f"Slack request failed: {exc.__class__.__name__}") from exc

    if response.status_code == 200:
        return "200"
    detail = f"Slack {response.status_code}: {response.text[:200]}"
    if response.status_code == 429:
        raise ChannelError(detail, retry_after=_seconds(response.headers.get("Retry-After")) or 1.0)
    if response.status_code in PERMANENT_STATUSES or 400 <= response.status_code < 500:
        raise ChannelError(detail, permanent=True)
    raise ChannelError(detail)


def reserve_slot(url: str, interval: float) -> float:
    """Reserve this process a sending slot on `url`; return how long to wait (0 = go now).

    A shared counter per webhook and per time window (in the cache, i.e. Redis in
    production) hands out positions; position n waits n*interval. Deferred sends come
    back spaced out instead of being dropped.
    """
    if interval <= 0:
        return 0.0
    now = time.time()
    window = int(now // interval)
    key = "slack-slot:" + hashlib.sha256(url.encode()).hexdigest()[:16] + f":{window}"
    cache.add(key, 0, timeout=max(5, int(interval * 10)))
    try:
        position = cache.incr(key) - 1
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=max(5, int(interval * 10)))
        position = 0
    if position == 0:
        return 0.0
    # Wait for the start of a later window, one window per position.
    return (window + position) * interval - now + 0.01


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
