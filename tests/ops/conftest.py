"""Fixtures for the operations tests (rate limits, metrics, logging, probes)."""

import itertools
import random

import pytest
from django.core.cache import cache

_ip_counter = itertools.count(1)


def unique_ip() -> str:
    """A client address no other test used, so rate-limit buckets never collide."""
    n = next(_ip_counter)
    return f"198.51.{random.randint(0, 255)}.{n % 250 + 1}"


def support_request(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "channel": "email",
        "name": "Dana Customer",
        "email": "dana@example.com",
        "subject": "Printer on fire",
        "message": "It is on fire.",
    }
    body.update(overrides)
    return body


@pytest.fixture
def rate_limits_on(settings):
    """Limits on, with empty budgets: counters live in the shared cache (Redis), which outlives
    a test run, and usernames like "alice" repeat between tests."""
    cache.clear()
    settings.RATELIMIT_ENABLE = True
    return settings
