"""supporthub.db.statement_cursor: a compiled statement runs on the cursor kept for it, with
the right rows every time, and never on a cursor of a connection Django has replaced."""

import time
from datetime import datetime

import psycopg
import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from supporthub.db import KEPT_CURSORS_MAX, api_timestamp_loaders, statement_cursor
from tests.services import database_url, require_postgres

DOUBLE = "SELECT %s * 2"
ONE_OVER = "SELECT 1 / %s"
NOW = "SELECT now()"


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require_postgres()


def run(sql: str, *params: object, loaders=None) -> tuple[object, object]:  # type: ignore[no-untyped-def]
    """(the statement's first value, the cursor it ran on)."""
    with statement_cursor(connection, sql, loaders) as cursor:
        cursor.execute(sql, params or None)
        return cursor.fetchone()[0], cursor


@pytest.mark.django_db
def test_a_statement_runs_again_on_its_own_cursor_with_the_new_parameters():
    first, cursor = run(DOUBLE, 21)
    again, same = run(DOUBLE, 5)
    other, different = run(ONE_OVER, 1)
    assert (first, again, other) == (42, 10, 1)
    assert same is cursor and not cursor.closed
    assert different is not cursor  # another statement has a cursor of its own


@pytest.mark.django_db
def test_with_query_logging_each_statement_gets_a_new_cursor_and_is_logged():
    _, kept = run(DOUBLE, 1)
    with CaptureQueriesContext(connection) as captured:
        value, cursor = run(DOUBLE, 4)
    assert value == 8
    assert cursor is not kept and cursor.closed  # Django's cursor(), closed after the block
    assert [query["sql"] for query in captured.captured_queries] == ["SELECT 4 * 2"]


@pytest.mark.django_db
def test_loaders_stay_on_the_cursor_they_were_registered_on():
    as_text, with_loaders = run(NOW, loaders=api_timestamp_loaders)
    as_datetime, plain = run(NOW)
    assert isinstance(as_text, str) and as_text.endswith("Z")  # the API's format
    assert isinstance(as_datetime, datetime)
    assert plain is not with_loaders


@pytest.mark.django_db
def test_a_statement_that_failed_runs_again_on_the_same_cursor():
    _, cursor = run(ONE_OVER, 2)
    with pytest.raises(DataError), transaction.atomic():  # Django's error, as from cursor()
        run(ONE_OVER, 0)
    value, same = run(ONE_OVER, 1)
    assert value == 1 and same is cursor


@pytest.mark.django_db
def test_the_kept_cursors_are_bounded():
    for number in range(KEPT_CURSORS_MAX + 5):
        assert run(f"SELECT {number} + %s", 1)[0] == number + 1
    _, kept = connection._kept_cursors
    assert 0 < len(kept) <= KEPT_CURSORS_MAX


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_the_server_closed_is_replaced_and_its_cursors_dropped():
    _, cursor = run(DOUBLE, 1)
    pid = run("SELECT pg_backend_pid()")[0]
    with psycopg.connect(database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            time.sleep(0.01)
    connection.close_if_unusable_or_obsolete()  # what the next request does first

    value, fresh = run(DOUBLE, 3)
    assert value == 6 and fresh is not cursor  # the health check replaced the connection
    assert run("SELECT pg_backend_pid()")[0] != pid
