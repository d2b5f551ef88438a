"""The HTTP part shared by the JSON-posting channels (Slack, PagerDuty, Opsgenie).

One keep-alive session per thread, and one mapping of answers to outcomes:
an expected status returns the response; 429 retries after Retry-After; any other 4xx is
permanent (no retry fixes a bad key, payload or target); 5xx and network errors retry; a
read timeout (the request was sent, no answer came) is unconfirmed.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import requests

from notifications.channels import ChannelError


def session() -> requests.Session:
    """This thread's keep-alive session: no new TCP/TLS handshake per message (requests does
    not promise that a Session is safe to share between threads)."""
    return _session(threading.get_ident())


@functools.lru_cache(maxsize=32)
def _session(thread: int) -> requests.Session:
    return requests.Session()


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    provider: str,
    ok: tuple[int, ...],
    timeout: float,
    default_retry_after: float,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST `body` as JSON; return the response when its status is in `ok`, else raise ChannelError."""
    try:
        response = session().post(url, json=body, headers=headers, timeout=(3.05, timeout))
    except requests.ReadTimeout as exc:  # connected and sent: the provider may have it
        raise ChannelError(f"{provider} did not answer within {timeout:g}s", unconfirmed=True) from exc
    except requests.RequestException as exc:
        raise ChannelError(f"{provider} request failed: {exc.__class__.__name__}") from exc
    if response.status_code in ok:
        return response
    detail = f"{provider} {response.status_code}: {response.text[:200]}"
    if response.status_code == 429:
        raise ChannelError(
            detail, retry_after=retry_after_seconds(response) or default_retry_after, rate_limited=True
        )
    if 400 <= response.status_code < 500:
        raise ChannelError(detail, permanent=True)
    raise ChannelError(detail)


def retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response body as a dict ({} when it is not a JSON object)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
