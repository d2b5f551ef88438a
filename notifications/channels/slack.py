"""Slack incoming webhooks: about one message per second per webhook, Retry-After on 429."""

from __future__ import annotations

import functools
import hashlib
import random
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
    for key, setting in (
        ("channel", "SLACK_CHANNEL"),
        ("username", "SLACK_USERNAME"),
        ("icon_emoji", "SLACK_ICON_EMOJI"),
    ):
        value = payload.get(key) or getattr(settings, setting, "")
        if value:
            body[key] = value
    try:
        response = _session().post(url, json=body, timeout=(3.05, float(settings.SLACK_TIMEOUT_SECONDS)))
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


@functools.cache
def _session() -> requests.Session:
    """One keep-alive session per worker process: no new TCP/TLS handshake per message."""
    return requests.Session()


def reserve_slot(url: str, interval: float) -> float:
    """Take the sending slot of webhook `url`; return 0 to send now, else seconds to wait.

    One token per webhook: whoever finds the webhook idle for `interval` seconds sends
    and marks it busy until now + interval. The others are deferred (with jitter) to the
    end of that interval and try again, so bursts are spaced out, never dropped. State
    lives in the cache (Redis in production) so all workers share it.
    """
    if interval <= 0:
        return 0.0
    key = "slack-next:" + hashlib.sha256(url.encode()).hexdigest()[:24]
    lock = key + ":lock"
    for _ in range(100):  # the lock is held for two cache calls: microseconds
        if cache.add(lock, 1, timeout=2):
            break
        time.sleep(0.005)
    else:
        return interval
    try:
        now = time.time()
        next_free = float(cache.get(key) or 0.0)
        if next_free <= now:
            cache.set(key, now + interval, timeout=max(2, int(interval) + 2))
            return 0.0
    finally:
        cache.delete(lock)
    return next_free - now + random.uniform(0, interval / 2)  # noqa: S311 - jitter


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
