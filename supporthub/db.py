"""PostgreSQL specifics: ids taken before an INSERT, and a cursor kept for each compiled
statement (statement_cursor)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, Func, Model

# Statements with a kept cursor per connection; past this many, they are all dropped and
# kept anew.
KEPT_CURSORS_MAX = 64


@contextmanager
def statement_cursor(connection: BaseDatabaseWrapper, sql: str) -> Iterator[Any]:
    """A cursor for running `sql` and reading its rows at once: on PostgreSQL, the one kept
    for `sql` on this connection.

    A new psycopg cursor copies the connection's adapters and looks up every parameter's
    dumper again, and so does one that runs another statement than its last (psycopg keeps
    its adapters only while the same query object comes back). An intake's two statements
    spent ~10% of its CPU on that (perf, issue 8). The caller passes the same `sql` object
    each time (a compiled statement) and uses the cursor only inside the block.

    Django's own cursor() (closed after the block) where query logging is on (DEBUG, tests
    counting queries) or on other databases. The kept cursors go with their connection:
    whenever Django opens a new one, they are dropped.
    """
    if connection.vendor != "postgresql" or connection.queries_logged:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.close_if_health_check_failed()  # what cursor() does first (CONN_HEALTH_CHECKS)
    connection.ensure_connection()
    connection.validate_thread_sharing()
    kept: dict[str, Any]
    owner, kept = getattr(connection, "_kept_cursors", (None, {}))
    if owner is not connection.connection or len(kept) >= KEPT_CURSORS_MAX:
        kept = {}
        connection._kept_cursors = (connection.connection, kept)  # type: ignore[attr-defined]
    kept_cursor = kept.get(sql)
    if kept_cursor is None:
        kept_cursor = kept[sql] = connection.cursor()
    yield kept_cursor


def next_ids(*models: type[Model]) -> list[int] | None:
    """The next value of each model's id sequence on PostgreSQL, in one round trip (None
    elsewhere).

    Rows whose other columns derive from an id (a ticket's reference) or that refer to each
    other (a ticket and its first message) are then written by one INSERT statement
    (supporthub.rows); writing a row and updating it at once touched every index of the
    table twice (perf, issue 8).
    """
    connection = connections[router.db_for_write(models[0])]
    if connection.vendor != "postgresql":
        return None
    sql = _nextvals_sql(models)
    with statement_cursor(connection, sql) as cursor:
        cursor.execute(sql)
        return [int(value) for value in cursor.fetchone()]


@cache
def _nextvals_sql(models: tuple[type[Model], ...]) -> str:
    return f"SELECT {', '.join(_nextval_sql(model) for model in models)}"


def _nextval_sql(model: type[Model]) -> str:
    """SQL for the next value of `model`'s id sequence, the names inlined as literals."""
    table, column = (str(name).replace("'", "''") for name in (model._meta.db_table, model._meta.pk.column))
    return f"nextval(pg_get_serial_sequence('{table}', '{column}'))"


class NextId(Func):
    """The next value of `model`'s id sequence, as a column of a read (PostgreSQL only).

    For a read that also reserves the ids of rows about to be written, so that taking them
    costs no round trip of its own (next_ids). The sequence is named in the SQL text, not
    passed as a parameter. Evaluated once per row the read returns: none when it finds nothing.
    """

    output_field = BigIntegerField()

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        super().__init__()

    def as_sql(
        self,
        compiler: Any,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[str | int, ...]]:
        if connection.vendor != "postgresql":
            raise NotImplementedError("NextId needs PostgreSQL sequences")
        return _nextval_sql(self.model), ()

    def get_db_converters(self, connection: BaseDatabaseWrapper) -> list[Callable[..., Any]]:
        return []  # the driver gives an int already
