"""Faster reading of PostgreSQL timestamps.

Django registers a pure-Python loader for `timestamptz` that parses every value with
psycopg's Python parser (~8 µs each): a page of 50 tickets has 300 timestamps, which was
the largest single cost of the ticket list (perf, issue 8). The session time zone is UTC
whenever USE_TZ is on, so PostgreSQL sends ISO text with a `+00` offset that
`datetime.fromisoformat` (C) turns into the same aware UTC datetime several times faster.
Anything else (infinity, BC dates, another offset) goes through Django's loader unchanged.
"""

from __future__ import annotations

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


def register_fast_timestamps(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """`connection_created` receiver: use the fast loader on PostgreSQL connections in UTC."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    connection.connection.adapters.register_loader("timestamptz", _utc_loader_class())
