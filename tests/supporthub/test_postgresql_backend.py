"""supporthub.postgresql: the per-request health check skips its round trip only when the
server cannot have closed the connection, and still replaces a connection it closed."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

from tests.services import database_url, require_postgres

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def round_trips(monkeypatch) -> list[int]:
    """Each `SELECT 1` health check that goes to the server (a spy on Django's check)."""
    require_postgres()
    calls: list[int] = []
    real = django_postgresql.DatabaseWrapper.is_usable

    def is_usable(self) -> bool:
        calls.append(1)
        return real(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", is_usable)
    return calls


def next_request() -> None:
    """What Django does when a request starts (the test client leaves it out): the next
    query runs the health check."""
    connection.close_if_unusable_or_obsolete()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_requests_on_a_healthy_connection_make_no_health_round_trip(round_trips):
    pid = backend_pid()
    for _ in range(3):
        next_request()
        assert backend_pid() == pid  # the same connection serves them all
    assert round_trips == []
    assert connection.health_check_enabled and connection.health_check_done


def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it(round_trips):
    pid = backend_pid()
    with psycopg.connect(database_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            time.sleep(0.01)
    next_request()
    assert backend_pid() != pid  # a new connection, and no error
    assert round_trips == [1]  # the readable socket sent it to Django's SELECT 1, which failed
