"""Slack's Web API with a bot token (SLACK_BOT_TOKEN): chat.postMessage to any channel the bot
is in or to a member (a direct message from the app), chat.update, users.info,
users.lookupByEmail; a response_url answer; and the signature check of Slack's
requests (SLACK_SIGNING_SECRET). Every `slack_sdk` import in SupportHub lives here;
SLACK_API_URL points the client at another host (tests run a fake Slack API on 127.0.0.1)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from notifications.channels import ChannelError

# chat.postMessage errors that no retry fixes: the channel, the token or its scopes are wrong.
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text", "invalid_blocks",
     "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
     "restricted_action", "team_access_not_granted", "invalid_arguments", "message_not_found",
     "cant_update_message", "edit_window_closed", "user_not_found"}
)  # fmt: skip


# users.info runs while Slack waits for our answer to a click (3 s in all).
USER_LOOKUP_TIMEOUT = 2.0


@functools.lru_cache(maxsize=4)
def _client(token: str, base_url: str, timeout: float) -> WebClient:
    # No retries in the client: the outbox retries with backoff and honours Retry-After.
    return WebClient(token=token, base_url=base_url, timeout=int(timeout), retry_handlers=[])


def _call(method: str, *, timeout: float | None = None, **arguments: Any) -> Any:
    """Call Web API `method` (e.g. "chat_postMessage") with the bot token; return its response.

    Raises ChannelError: permanent for a wrong channel, message, token or scope; with
    Retry-After for 429; transient for 5xx and network errors.
    """
    client = _client(
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL, timeout or settings.SLACK_TIMEOUT_SECONDS
    )
    name = method.replace("_", ".", 1)
    try:
        return getattr(client, method)(**arguments)
    except SlackApiError as exc:
        status = int(exc.response.status_code or 0)
        error = str(exc.response.get("error") or status)
        reason = f"Slack {name}: {error}"
        if status == 429 or error == "ratelimited":
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            raise ChannelError(reason, retry_after=float(retry_after or 1)) from exc
        raise ChannelError(reason, permanent=error in PERMANENT_ERRORS) from exc
    except (SlackClientError, OSError) as exc:
        raise ChannelError(f"Slack {name} failed: {exc.__class__.__name__}") from exc


def post_message(channel: str, body: dict[str, Any]) -> str:
    """Post `body` (text, blocks, username, icon_emoji) to `channel`; return the message's
    reference, "<channel id>:<ts>" (`message_ref_parse` reads it back for chat.update).

    Raises ChannelError as `_call` does.
    """
    response = _call("chat_postMessage", **body, channel=channel)
    ts = str(response.get("ts") or "")
    return f"{response.get('channel') or channel}:{ts}" if ts else "ok"


def message_ref_parse(ref: str) -> tuple[str, str] | None:
    """(channel id, ts) of a message `post_message` posted, or None for another provider id."""
    channel_id, _, ts = ref.rpartition(":")
    return (channel_id, ts) if channel_id and ts else None


def update_message(channel_id: str, ts: str, body: dict[str, Any]) -> None:
    """Replace the text and blocks of message `ts` in channel `channel_id` (chat.update).

    Raises ChannelError as `_call` does.
    """
    _call("chat_update", **body, channel=channel_id, ts=ts)


def user_email(slack_user_id: str) -> str | None:
    """The email address on the Slack profile of `slack_user_id` (users.info, scope
    users:read.email), or None when Slack knows no such user or the profile shows no email.

    Raises ChannelError as `_call` does.
    """
    try:
        response = _call("users_info", user=slack_user_id, timeout=USER_LOOKUP_TIMEOUT)
    except ChannelError as exc:
        if exc.reason.endswith(": user_not_found"):
            return None
        raise
    profile = (response.get("user") or {}).get("profile") or {}
    return str(profile.get("email") or "") or None


def user_id(email: str) -> str | None:
    """The id of the Slack member whose profile has `email` (users.lookupByEmail, scope
    users:read.email), or None when no member has it.

    Raises ChannelError as `_call` does.
    """
    try:
        response = _call("users_lookupByEmail", email=email)
    except ChannelError as exc:
        if exc.reason.endswith(": users_not_found"):
            return None
        raise
    return str((response.get("user") or {}).get("id") or "") or None


def respond(response_url: str, text: str) -> None:
    """Answer only the person who clicked (an ephemeral message through the interaction's
    response_url). Raises ChannelError for a refused or failed request (transient for 5xx)."""
    client = WebhookClient(response_url, timeout=int(settings.SLACK_TIMEOUT_SECONDS), retry_handlers=[])
    try:
        response = client.send(text=text, response_type="ephemeral", replace_original=False)
    except (SlackClientError, OSError) as exc:
        raise ChannelError(f"Slack response_url failed: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        reason = f"Slack response_url: {response.status_code} {response.body[:200]}"
        raise ChannelError(reason, permanent=400 <= response.status_code < 500)


def request_is_signed(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether Slack signed this request with SLACK_SIGNING_SECRET (v0 HMAC-SHA256 over
    "v0:{timestamp}:{body}") less than five minutes ago. False while the secret is not set."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret:
        return False
    try:
        return SignatureVerifier(secret).is_valid_request(body, headers)
    except (ValueError, UnicodeDecodeError):  # a timestamp that is no number, a body that is no UTF-8
        return False
