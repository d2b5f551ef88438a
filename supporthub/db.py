"""PostgreSQL specifics: faster reading of timestamps (and, for API reads, timestamps read
straight into the API's format), and a cursor kept for each compiled statement
(statement_cursor).

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

from django.db.backends.base.base import BaseDatabaseWrapper


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
