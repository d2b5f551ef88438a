"""Slack's Web API: chat.postMessage with a bot token (SLACK_BOT_TOKEN), to any channel the
bot is in. Every `slack_sdk` import in SupportHub lives here; SLACK_API_URL points the client
at another host (tests run a fake Slack API on 127.0.0.1)."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from notifications.channels import ChannelError

# chat.postMessage errors that no retry fixes: the channel, the token or its scopes are wrong.
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text", "invalid_blocks",
     "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
     "restricted_action", "team_access_not_granted", "invalid_arguments"}
)  # fmt: skip


@functools.lru_cache(maxsize=4)
def _client(token: str, base_url: str, timeout: float) -> WebClient:
    # No retries in the client: the outbox retries with backoff and honours Retry-After.
    return WebClient(token=token, base_url=base_url, timeout=int(timeout), retry_handlers=[])


def post_message(channel: str, body: dict[str, Any]) -> str:
    """Post `body` (text, blocks, username, icon_emoji) to `channel`; return the message ts.

    Raises ChannelError: permanent for a wrong channel, token or scope; with Retry-After for
    429; transient for 5xx and network errors.
    """
    client = _client(settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL, float(settings.SLACK_TIMEOUT_SECONDS))
    try:
        response = client.chat_postMessage(**body, channel=channel)
    except SlackApiError as exc:
        status = int(exc.response.status_code or 0)
        error = str(exc.response.get("error") or status)
        reason = f"Slack chat.postMessage to {channel}: {error}"
        if status == 429 or error == "ratelimited":
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            raise ChannelError(reason, retry_after=float(retry_after or 1)) from exc
        raise ChannelError(reason, permanent=error in PERMANENT_ERRORS) from exc
    except (SlackClientError, OSError) as exc:
        raise ChannelError(f"Slack request failed: {exc.__class__.__name__}") from exc
    return str(response.get("ts") or "ok")
