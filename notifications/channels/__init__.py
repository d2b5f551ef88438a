"""Channel adapters: one module per channel behind one small interface.

An adapter is a module-level `send(delivery) -> provider_id` function. It returns the
provider's id for the accepted message, or raises:

- `ChannelError(reason, permanent=..., retry_after=..., rate_limited=..., unconfirmed=...)`:
  the provider refused or failed. Permanent errors (bad address, 4xx but 429, a message that
  cannot be built) are never retried; transient ones are retried with backoff, no sooner than
  `retry_after` seconds. `rate_limited` (a 429): the wait is the provider's, no attempt is
  used. `unconfirmed`: the request was sent but its answer never came (a read timeout), so
  the provider may have accepted it; the outbox decides whether to send again.
- `ChannelNotConfigured(reason)`: no credentials. The delivery becomes `skipped` and the
  message is logged: we never pretend it was sent.
- `ChannelDeferred(wait)`: our own rate limit says "not yet"; rescheduled without counting
  an attempt (nothing is dropped).

Settings are read when sending, not at import, so tests and operators can change them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from notifications.models import Delivery


class ChannelError(Exception):
    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        rate_limited: bool = False,
        unconfirmed: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        self.unconfirmed = unconfirmed


class ChannelNotConfigured(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ChannelDeferred(Exception):
    def __init__(self, wait: float):
        super().__init__(f"rate limited locally, retry in {wait:.2f}s")
        self.wait = wait


class Adapter(Protocol):
    def send(self, delivery: Delivery) -> str: ...


# Channel value → module under notifications.channels. New channels (pagerduty, opsgenie)
# add a module and a line here.
ADAPTER_MODULES: dict[str, str] = {
    "email": "notifications.channels.email",
    "slack": "notifications.channels.slack",
    "sms": "notifications.channels.sms",
    "voice": "notifications.channels.voice",
    # paging services that mirror incidents.
    "pagerduty": "notifications.channels.pagerduty",
    "opsgenie": "notifications.channels.opsgenie",
}


def get_adapter(channel: str) -> Adapter:
    try:
        module_name = ADAPTER_MODULES[channel]
    except KeyError:
        raise ChannelError(f"no adapter for channel {channel!r}", permanent=True) from None
    return importlib.import_module(module_name)
