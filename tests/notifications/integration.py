"""Shared pieces of the notifications integration tests (real worker, real Redis)."""

from __future__ import annotations

from django.db import transaction

from notifications.models import Delivery
from notifications.outbox import delivery_create
from tests.services import EVENTUALLY, wait_until

FAST = {
    "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.3",
    "NOTIFICATIONS_RETRY_MAX_SECONDS": "1",
    "SLACK_MIN_INTERVAL_SECONDS": "0",
    "SUPPORT_TEAM_EMAIL": "team@support.example",
    "DEFAULT_FROM_EMAIL": "SupportHub <support@support.example>",
}


def slack_delivery(key: str = "it:slack") -> Delivery:
    with transaction.atomic():
        return delivery_create(
            channel="slack", recipient="#support", body=f"hello {key}", idempotency_key=key
        )


def wait_for_status(delivery: Delivery, statuses: set[str], timeout: float = EVENTUALLY) -> Delivery:
    def done() -> Delivery | None:
        delivery.refresh_from_db()
        return delivery if delivery.status in statuses else None

    return wait_until(done, timeout, f"delivery {delivery.pk} never reached {statuses}")
