"""The delivery console: SQL statements do not grow with the deliveries shown."""

import pytest

from notifications.outbox import delivery_create
from tests.factories import MessageFactory, TicketFactory
from tests.query_counts import assert_constant

pytestmark = pytest.mark.django_db


def _delivery(i: int) -> None:
    message = MessageFactory(ticket=TicketFactory())
    delivery_create(
        channel="email", recipient=f"c{i}@example.com", subject="Hi", body="Hello",
        idempotency_key=f"count:{i}", ticket=message.ticket, message=message,
    )  # fmt: skip


def test_the_delivery_changelist_is_constant_in_rows(admin_client):
    assert_constant(admin_client, "/admin/notifications/delivery/", _delivery)


def test_the_delivery_changelist_filtered_by_status_is_constant_in_rows(admin_client):
    assert_constant(admin_client, "/admin/notifications/delivery/?status__exact=pending", _delivery)
