"""The team setting every "who is told" test uses, and what it must produce.

Three entries, two addresses: "B@example.com" and "b@example.com" are one mailbox.
"""

from __future__ import annotations

from collections.abc import Iterable

from notifications.models import Delivery

TEAM_EMAIL = "a@example.com, B@example.com, b@example.com"


def assert_each_team_address_emailed_once(deliveries: Iterable[Delivery]) -> None:
    """Exactly one email per team address (never one to the joined setting), each with its own key."""
    emails = [delivery for delivery in deliveries if delivery.channel == "email"]
    assert sorted(delivery.recipient.lower() for delivery in emails) == ["a@example.com", "b@example.com"]
    assert len({delivery.idempotency_key for delivery in emails}) == 2
