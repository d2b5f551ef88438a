"""PostgreSQL timestamps come back exactly as stored, as aware UTC datetimes."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from tests.factories import TicketFactory
from tests.services import require_postgres
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres():
    require_postgres()
    connection.ensure_connection()


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 11, 25, 4, 18, 34, tzinfo=UTC),  # no fraction: PostgreSQL sends none
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
)
def test_timestamps_round_trip_as_aware_utc(postgres, value):
    ticket = TicketFactory()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=value)
    loaded = Ticket.objects.values_list("created_at", flat=True).get(pk=ticket.pk)
    assert loaded == value
    assert loaded.tzinfo is UTC
