"""PostgreSQL specifics: faster reading of timestamps (and, for API reads, timestamps read
straight into the API's format), ids taken before an INSERT, and a cursor kept for each
compiled statement (statement_cursor).

Timestamps:

Django registers a pure-Python loader for `timestamptz` that parses every value with
psycopg's Python parser (~8 µs each): a page of 50 tickets has 300 timestamps, which was
the largest single cost of the ticket list (perf, issue 8). The session time zone is UTC
whenever USE_TZ is on, so PostgreSQL sends ISO text with a `+00` offset that
`datetime.fromisoformat` (C) turns into the same aware UTC datetime several times faster.
Anything else (infinity, BC dates, another offset) goes through Django's loader unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, Func, Model


@cache
def _utc_loader_class() -> type:
    """Built on first use: psycopg_any only defines BaseTzLoader when psycopg 3 is installed."""
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class UtcTimestamptzLoader(BaseTzLoader):
        timezone = UTC  # Django re-registers its own loader on cursors when this differs

        def load(self, data: Any) -> datetime:
            try:
                value = datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                return super().load(data)
            if value.tzinfo is not UTC:
                return super().load(data)
            return value

    return UtcTimestamptzLoader


@cache
def _api_loader_class() -> type:
    class ApiTimestamptzLoader(_utc_loader_class()):  # type: ignore[misc]
        """PostgreSQL's UTC text straight into the API's format (DRF's: ISO 8601 with a Z,
        six fraction digits or none), with no datetime in between; anything else (another
        offset, a year past 9999) becomes a datetime, as from the connection's loader."""

        def load(self, data: Any) -> str | datetime:
            text = bytes(data).decode()  # "2026-01-02 03:04:05.12+00"
            if len(text) < 22 or text[4] != "-" or text[10] != " " or not text.endswith("+00"):
                return super().load(data)
            seconds, dot, fraction = text[11:-3].partition(".")
            return f"{text[:10]}T{seconds}{dot}{fraction.ljust(6, '0') if dot else ''}Z"

    return ApiTimestamptzLoader


def api_timestamp_loaders() -> dict[str, type]:
    """Loaders for reads whose timestamps only go into API responses (CompiledRead's
    `loaders`): a page of 50 tickets has 200 of them, and parsing each into a datetime to
    format it again was a fifth of the list's Python time (perf, issue 8)."""
    return {"timestamptz": _api_loader_class()}


def register_fast_timestamps(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """`connection_created` receiver: use the fast loader on PostgreSQL connections in UTC."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    connection.connection.adapters.register_loader("timestamptz", _utc_loader_class())


# Statements with a kept cursor per connection; past this many (CompiledRead's pages each
# have SQL of their own), they are all dropped and kept anew.
KEPT_CURSORS_MAX = 64


@contextmanager
def statement_cursor(
    connection: BaseDatabaseWrapper, sql: str, loaders: Callable[[], dict[str, type]] | None = None
) -> Iterator[Any]:
    """A cursor for running `sql` and reading its rows at once: on PostgreSQL, the one kept
    for `sql` (and `loaders`, registered on it) on this connection.

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
            if loaders is not None and connection.vendor == "postgresql":
                _register(cursor, loaders)
            yield cursor
        return
    connection.close_if_health_check_failed()  # what cursor() does first (CONN_HEALTH_CHECKS)
    connection.ensure_connection()
    connection.validate_thread_sharing()
    kept: dict[tuple[str, Any], Any]
    owner, kept = getattr(connection, "_kept_cursors", (None, {}))
    if owner is not connection.connection or len(kept) >= KEPT_CURSORS_MAX:
        kept = {}
        connection._kept_cursors = (connection.connection, kept)  # type: ignore[attr-defined]
    kept_cursor = kept.get((sql, loaders))
    if kept_cursor is None:
        kept_cursor = kept[sql, loaders] = connection.cursor()
        if loaders is not None:
            _register(kept_cursor, loaders)
    yield kept_cursor


def _register(cursor: Any, loaders: Callable[[], dict[str, type]]) -> None:
    for name, loader in loaders().items():
        cursor.cursor.adapters.register_loader(name, loader)


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
    passed as a parameter, so a CompiledRead of the read keeps exactly its own parameters.
    Evaluated once per row the read returns: none when it finds nothing.
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
        return []  # the driver gives an int already (and CompiledRead takes no converters)
