"""Rate limits with django-ratelimit on the shared cache.

- /v1 writes: per API key and per client IP (a DRF throttle, so the 429 goes through the
  API's error handler and carries Retry-After).
- Webhooks (/webhooks/...): refusals (bad signature or credentials) per client IP; the
  providers' own authenticated requests are never throttled.
- Admin login: failures per client IP pause that address; failures per username only slow
  that username down (per address), so an attacker cannot lock its owner out.

Limits come from settings (RATELIMIT_* environment variables). When the cache itself is
unreachable the limits fail open: losing Redis must not turn every write into a 429.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from supporthub.api.auth import caller_scope

logger = logging.getLogger(__name__)

ADMIN_LOGIN_PATH = "/admin/login/"


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or X-Forwarded-For behind TRUSTED_PROXY_COUNT proxies.

    Only the hops our own proxies appended are trusted; anything further left was written
    by the client and could be forged.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("ignoring malformed X-Forwarded-For entry %r", candidate[:64])
    return remote or "0.0.0.0"  # noqa: S104 - a key for the limiter, not an address to bind


def client_network(request: HttpRequest) -> str:
    """The caller's address (client_ip) as the limits count it: its network under
    RATELIMIT_IPV4_MASK / RATELIMIT_IPV6_MASK, so that one host cannot dodge a limit by
    moving through the addresses of its own IPv6 /64."""
    address = client_ip(request)
    mask = settings.RATELIMIT_IPV6_MASK if ":" in address else settings.RATELIMIT_IPV4_MASK
    return str(ipaddress.ip_network(f"{address}/{mask}", strict=False).network_address)


def _by_network(group: str, request: HttpRequest) -> str:
    return client_network(request)


# (django-ratelimit group, key function, rate) of one budget.
Check = tuple[str, Callable[[str, HttpRequest], str], str]


def _check(request: HttpRequest, checks: list[Check], *, count: bool = True) -> int | None:
    """Run every check; the seconds to wait if any is over its limit.

    With `count` (the default) this request is counted first, in every budget even when an
    earlier one is already exhausted, so each reflects all attempts; without it the budgets
    are only read, and a budget whose every unit is used up already blocks. An empty rate
    turns its check off. With the cache unreachable nothing is limited (and a warning says
    so): losing Redis must not turn every request into a 429.
    """
    wait: int | None = None
    for group, key, rate in checks:
        if not rate:
            continue
        try:
            usage = get_usage(request, group=group, key=key, rate=rate, method=get_usage.ALL, increment=count)
        except Exception:  # redis.ConnectionError, TimeoutError, ...: fail open, loudly
            groups = [group for group, _, _ in checks]
            logger.warning("rate limit cache unavailable; %s not limited", groups, exc_info=True)
            return None
        if not usage:  # limits switched off (RATELIMIT_ENABLE)
            continue
        over = usage["should_limit"] if count else usage["count"] >= usage["limit"]
        if over:
            wait = max(wait or 1, int(usage["time_left"]), 1)
    return wait


def _by_user(group: str, request: HttpRequest) -> str:
    return f"user:{request.user.pk}"


def user_over_limit(request: HttpRequest, *, group: str, rate: str) -> int | None:
    """Count this request against the signed-in user's budget `group` at `rate`; the seconds
    to wait if that is used up, else None (also with the cache unreachable: fails open)."""
    return _check(request, [(group, _by_user, rate)])


def _api_key_identity(group: str, request: HttpRequest) -> str:
    """Who is calling (supporthub.api.auth.caller_scope), else the client address."""
    scope = caller_scope(request)  # type: ignore[arg-type]  # DRF's Request, from WriteRateLimit
    return f"ip:{client_ip(request)}" if scope == "anonymous" else scope


class WriteRateLimit(BaseThrottle):
    """Limits POST/PUT/PATCH/DELETE on /v1 per API key and per client IP."""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self._wait = _check(
            request,
            [
                ("api-write-key", _api_key_identity, settings.RATELIMIT_API_KEY_WRITES),
                ("api-write-ip", _by_network, settings.RATELIMIT_API_IP_WRITES),
            ],
        )
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def too_many_requests(wait: int, detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": "throttled"}, status=429)
    response["Retry-After"] = str(wait)
    return response


# Responses that refuse a webhook for its credentials (bad signature, bad basic auth).
REFUSALS = frozenset({401, 403})


class BlockedAddresses:
    """Client addresses over their webhook refusal budget, in this process, until a deadline."""

    MAX = 10_000  # addresses remembered; the oldest go first beyond that

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def seconds_left(self, address: str) -> int | None:
        deadline = self._until.get(address)
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        return max(1, round(left)) if left > 0 else None

    def block(self, address: str, seconds: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._until) >= self.MAX:
                self._until = {a: d for a, d in self._until.items() if d > now}
                while len(self._until) >= self.MAX:
                    del self._until[next(iter(self._until))]
            self._until[address] = now + seconds


webhook_blocks = BlockedAddresses()


class RateLimitMiddleware:
    """Per-IP limits for webhooks and the admin login, before the views run."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            if request.path.startswith(settings.RATELIMIT_WEBHOOK_PREFIX):
                return self._webhook(request)
            if request.path == ADMIN_LOGIN_PATH:
                return self._admin_login(request)
        return self.get_response(request)

    def _webhook(self, request: HttpRequest) -> HttpResponse:
        """Count the webhook requests refused for their credentials, per client IP.

        Requests our providers signed are never throttled and cost no cache round trip: a
        surge of real calls must not turn into 429s for Twilio (its callers would hear an
        error). An address that used up its budget of refusals gets 429 before the view runs,
        from each worker that has seen it over the budget; so a window lets through at most
        the budget plus one refusal per worker process.
        """
        address = client_network(request)
        wait = webhook_blocks.seconds_left(address)
        if wait is None:
            response = self.get_response(request)
            if response.status_code not in REFUSALS:
                return response
            wait = _check(request, [("webhooks-ip", _by_network, settings.RATELIMIT_WEBHOOKS_IP)])
            if wait is None:
                return response
            webhook_blocks.block(address, wait)
        logger.warning("webhook rate limit hit for %s on %s", client_ip(request), request.path)
        return too_many_requests(wait, f"Request was throttled. Expected available in {wait} seconds.")

    def _admin_login(self, request: HttpRequest) -> HttpResponse:
        """Pause an address after its failed logins; slow, never lock, a hammered username.

        An address over RATELIMIT_ADMIN_LOGIN failures is refused. A username over the same
        budget (from all addresses together) is only slowed: each address may then try it at
        RATELIMIT_ADMIN_LOGIN_SLOWED, so its owner signing in from elsewhere still gets in.
        """
        address, username, slowed = _admin_login_checks()
        wait = _check(request, [address], count=False)
        if wait is None and _check(request, [username], count=False) is not None:
            wait = _check(request, [slowed], count=False)
        if wait is not None:
            logger.warning("admin login rate limit hit for %s", client_ip(request))
            response = render(
                request,
                "admin/login_ratelimited.html",
                {"wait_seconds": wait, "wait_minutes": max(1, round(wait / 60))},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        response = self.get_response(request)
        if response.status_code == 200:
            # The form came back with an error: a failed attempt. Successful logins
            # (a redirect) do not count, so a team behind one NAT address can sign in.
            _check(request, [address, username, slowed])
        return response


def login_username(raw: str) -> str:
    """The username a login attempt is counted under: "ROOT " and "root" are one account."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()[:150]


def _posted_username(group: str, request: HttpRequest) -> str:
    return login_username(request.POST.get("username", ""))


def _posted_username_and_network(group: str, request: HttpRequest) -> str:
    return f"{_posted_username(group, request)}@{client_network(request)}"


def _admin_login_checks() -> tuple[Check, Check, Check]:
    """(per address, per username, per username and address once the username is slowed)."""
    rate = settings.RATELIMIT_ADMIN_LOGIN
    return (
        ("admin-login-ip", _by_network, rate),
        ("admin-login-user", _posted_username, rate),
        ("admin-login-user-ip", _posted_username_and_network, settings.RATELIMIT_ADMIN_LOGIN_SLOWED),
    )
