"""Slack: chat.postMessage with a bot token (SLACK_BOT_TOKEN, `slack_api`) to the delivery's
channel, else the incoming webhook; about one message per second per webhook or channel,
Retry-After on 429. A delivery with `payload["direct"]` is a direct message to the Slack member
whose email address is its recipient (bot token only: a webhook posts to one channel).

Slack reads `<...>` in a message as a link or a mention (`<!channel>`, `<https://x|label>`), so
every piece of customer text that goes into a Slack message passes through `slack_escape`
first; only the links the builders make themselves (`slack_link`) stay live.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from notifications.channels import ChannelDeferred, ChannelNotConfigured, slack_api
from notifications.channels.http import post_json
from notifications.recipients import WEBHOOK_CHANNEL

if TYPE_CHECKING:
    from notifications.models import Delivery


def slack_escape(text: str) -> str:
    """`text` with `&`, `<` and `>` escaped as Slack documents, so it shows as typed and never
    mentions a channel or disguises a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str | None) -> str:
    """A Slack link to one of our own `url`s, with an escaped `label` (the URL when empty)."""
    return f"<{url}|{slack_escape(label or url)}>"


def send(delivery: Delivery) -> str:
    payload = delivery.payload or {}
    if payload.get("direct"):
        return _send_direct(delivery)
    url = payload.get("webhook_url") or settings.SLACK_WEBHOOK_URL
    channel = payload.get("channel") or delivery.recipient
    by_api = bool(settings.SLACK_BOT_TOKEN) and not payload.get("webhook_url") and channel != WEBHOOK_CHANNEL
    if not url and not by_api:
        raise ChannelNotConfigured("SLACK_WEBHOOK_URL is not set")
    slot = f"{settings.SLACK_API_URL}#{channel}" if by_api else url
    wait = reserve_slot(slot, float(settings.SLACK_MIN_INTERVAL_SECONDS))
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
    if by_api:
        return slack_api.post_message(channel, {k: v for k, v in body.items() if k != "channel"})
    # Slack's 4xx answers (invalid_payload, channel_not_found, channel_is_archived) are permanent.
    post_json(
        url,
        body,
        provider="Slack",
        ok=(200,),
        timeout=float(settings.SLACK_TIMEOUT_SECONDS),
        default_retry_after=1.0,
    )
    return "200"


def _send_direct(delivery: Delivery) -> str:
    """Post the delivery to the app's direct messages with the member whose email address is
    its recipient; skipped without a bot token or when no member has that address."""
    if not settings.SLACK_BOT_TOKEN:
        raise ChannelNotConfigured("a Slack direct message needs SLACK_BOT_TOKEN")
    member = slack_api.user_id(delivery.recipient)
    if member is None:
        raise ChannelNotConfigured(f"no Slack member has the email address {delivery.recipient}")
    wait = reserve_slot(f"{settings.SLACK_API_URL}#{member}", float(settings.SLACK_MIN_INTERVAL_SECONDS))
    if wait > 0:
        raise ChannelDeferred(wait)
    return slack_api.post_message(member, {"text": delivery.body})


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
