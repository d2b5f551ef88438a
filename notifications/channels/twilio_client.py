"""Every `twilio` import in SupportHub's notifications lives here.

The client is built lazily from settings; TWILIO_API_BASE_URL points it at another host
(tests run a fake Twilio REST API on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from notifications.channels import ChannelError, ChannelNotConfigured

# Twilio error codes that retrying cannot fix (invalid/unreachable/blocked numbers...).
# Every other 4xx is treated as permanent too; only 429 and 5xx are retried.
PERMANENT_HINTS = {
    21211: "invalid 'To' number",
    21214: "'To' number cannot be reached",
    21408: "permission to send to this region is not enabled",
    21610: "recipient has replied STOP",
    21612: "'To' number is not reachable by this sender",
    21614: "'To' number is not a mobile number",
}


def is_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER)


def require_configured() -> None:
    if not is_configured():
        raise ChannelNotConfigured("Twilio is not configured (TWILIO_ACCOUNT_SID/AUTH_TOKEN/FROM_NUMBER)")


# One client per thread (`thread` is in the key): TwilioHttpClient keeps the last response on
# itself and returns it from there, so a client shared by threads could return another's answer.
@functools.lru_cache(maxsize=32)
def _client(account_sid: str, auth_token: str, base_url: str, timeout: float, thread: int) -> Client:
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    return client


def get_client() -> Client:
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        float(settings.TWILIO_TIMEOUT_SECONDS),
        threading.get_ident(),
    )


def send_sms(*, to: str, body: str, status_callback: str | None = None) -> str:
    """Send an SMS; return the message SID. Raises ChannelError."""
    require_configured()
    kwargs: dict[str, str] = {"to": to, "from_": settings.TWILIO_FROM_NUMBER, "body": body}
    if status_callback:
        kwargs["status_callback"] = status_callback
    with _mapped_errors():
        message = get_client().messages.create(**kwargs)
    return str(message.sid)


# Status callback events of a paging call: "answered" carries the answering machine
# detection's verdict early, "completed" carries the final status (and the verdict again).
PAGING_CALL_EVENTS = ["answered", "completed"]


def place_call(*, to: str, twiml: str, status_callback: str) -> str:
    """Start an outbound call that runs `twiml` once Twilio's answering machine detection has
    decided who answered, posting its progress to `status_callback`; return the call SID.
    Raises ChannelError."""
    require_configured()
    kwargs: dict[str, object] = {
        "to": to,
        "from_": settings.TWILIO_FROM_NUMBER,
        "twiml": twiml,
        "machine_detection": "Enable",
        "status_callback": status_callback,
        "status_callback_event": PAGING_CALL_EVENTS,
        "status_callback_method": "POST",
    }
    with _mapped_errors():
        call = get_client().calls.create(**kwargs)
    return str(call.sid)


def paging_twiml(*, text: str, action_url: str, prompt: str) -> str:
    """TwiML that reads `text`, then collects one keypress posted to `action_url`."""
    response = VoiceResponse()
    response.say(text)
    gather = Gather(num_digits=1, action=action_url, method="POST", timeout=10)
    gather.say(prompt)
    response.append(gather)
    response.say(text)
    response.append(Gather(num_digits=1, action=action_url, method="POST", timeout=10))
    response.say("Goodbye.")
    return str(response)


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn twilio/requests exceptions into ChannelError (permanent for 4xx but 429; a read
    timeout is unconfirmed)."""
    try:
        yield
    except TwilioRestException as exc:
        status = int(exc.status or 0)
        hint = PERMANENT_HINTS.get(int(exc.code or 0), "")
        reason = f"Twilio {status} error {exc.code}: {exc.msg}" + (f" ({hint})" if hint else "")
        transient = status == 429 or status >= 500 or status == 0
        raise ChannelError(reason, permanent=not transient, rate_limited=status == 429) from exc
    except requests.ReadTimeout as exc:  # connected and sent: Twilio may have accepted it
        raise ChannelError(f"Twilio did not answer in time: {exc}", unconfirmed=True) from exc
    except (requests.RequestException, TwilioException) as exc:
        raise ChannelError(f"Twilio request failed: {exc}") from exc
