"""PostgreSQL timestamps are read by the fast UTC loader and come back exactly as stored."""

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


def _loader():
    from psycopg.pq import Format

    oid = connection.connection.adapters.types["timestamptz"].oid
    return connection.connection.adapters.get_loader(oid, Format.TEXT)


def test_postgresql_connections_use_the_fast_loader(postgres):
    assert _loader().__name__ == "UtcTimestamptzLoader"


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


def test_text_the_fast_path_cannot_read_goes_through_djangos_loader(postgres):
    loader = _loader()(connection.connection.adapters.types["timestamptz"].oid, connection.connection)
    assert loader.load(b"2026-01-02 03:04:05.25+00") == datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
    with pytest.raises(Exception, match=r"(?i)infinity|too large"):
        loader.load(b"infinity")  # Python has no infinite datetime: Django's loader says so
