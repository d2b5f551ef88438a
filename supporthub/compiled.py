"""Row reads compiled to SQL once per process.

Building a queryset and compiling it is most of the Python time of a one-row read on the
API's hot path: 0.5 of the 0.7 ms the ticket detail spent in the ORM (perf, issue 8).
A `CompiledRead` compiles its queryset the first time and afterwards only executes the
SQL with the new parameters, through Django's cursor (so query logging, error wrapping and
the connection's type loaders are unchanged). The queryset stays the one description of
the read: the SQL is Django's, never written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ValuesIterable, ValuesListIterable

from supporthub.db import statement_cursor

# Stand-ins the queryset is built with; each must come back as one SQL parameter, in order.
_SAMPLE = (-7_654_321, -7_654_322, -7_654_323, -7_654_324)
SLICES_KEPT = 16


class CompiledRead:
    """`build(*params)` returns a `.values()` or `.values_list()` queryset; `fetch(*params)`
    reads its rows (dicts or tuples, as the queryset gives them; a slice of them with `start`
    and `stop`) with the SQL compiled once.

    Compiling checks that the SQL's parameters are exactly the build arguments in order (as
    given, or as strings for a text column; nothing folded into the SQL text, nothing
    added) and that no column needs a converter (SQLite's datetimes do, PostgreSQL's
    columns here do not). When either check fails, `rows` returns None and `fetch` runs
    the queryset instead: slower, never wrong.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        arity: int = 1,
        loaders: Callable[[], dict[str, type]] | None = None,
    ) -> None:
        if not 0 <= arity <= len(_SAMPLE):
            raise ValueError(f"arity must be 0-{len(_SAMPLE)}")
        self._build = build
        self._arity = arity
        # psycopg loaders (type name -> Loader class) for the compiled path's cursor on
        # PostgreSQL, e.g. supporthub.db.api_timestamp_loaders; the ORM path never uses them.
        self._loaders = loaders
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None] | None] = {}
        self._slices: dict[tuple[str, int, int | None], str] = {}

    def queryset(self, *params: Any) -> QuerySet[Any]:
        """The queryset this read stands for, built for `params`."""
        return self._build(*params)

    def sql(self, using: str = "default") -> str | None:
        """The compiled SQL, or None when reads on `using` go through the ORM."""
        statement = self._statement(using)
        return statement[0] if statement else None

    def rows(
        self, *params: Any, start: int = 0, stop: int | None = None, using: str = "default"
    ) -> list[Any] | None:
        """The rows for `params` (those in [start:stop]), or None when this read cannot be
        compiled on `using`."""
        statement = self._statement(using)
        if statement is None:
            return None
        if stop is not None and stop <= start:
            return []
        sql, columns = statement
        connection = connections[using]
        if start or stop is not None:
            sql = self._sliced(sql, connection, start, stop)
        with statement_cursor(connection, sql, self._loaders) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if columns is None:  # .values_list(): the cursor's tuples
            return rows
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def fetch(
        self, *params: Any, start: int = 0, stop: int | None = None, using: str = "default"
    ) -> list[Any]:
        """The rows for `params` (those in [start:stop]): by the compiled SQL, or through the
        ORM where the read does not compile."""
        rows = self.rows(*params, start=start, stop=stop, using=using)
        if rows is None:
            rows = list(self.queryset(*params).using(using)[start:stop])
        return rows

    def _sliced(self, sql: str, connection: Any, start: int, stop: int | None) -> str:
        """`sql` with the clause Django's compiler appends for a slice: the same string object
        for the same slice, as statement_cursor wants (the last SLICES_KEPT slices)."""
        key = (sql, start, stop)
        sliced = self._slices.get(key)
        if sliced is None:
            if len(self._slices) >= SLICES_KEPT:
                self._slices.clear()
            sliced = self._slices[key] = f"{sql} {connection.ops.limit_offset_sql(start, stop)}"
        return sliced

    def _statement(self, using: str) -> tuple[str, tuple[str, ...] | None] | None:
        try:
            return self._compiled[using]
        except KeyError:
            self._compiled[using] = statement = self._compile(using)
            return statement

    def _compile(self, using: str) -> tuple[str, tuple[str, ...] | None] | None:
        sample = _SAMPLE[: self._arity]
        queryset = self._build(*sample)
        query = queryset.query
        as_dicts = queryset._iterable_class is ValuesIterable
        if query.is_sliced or not (as_dicts or queryset._iterable_class is ValuesListIterable):
            return None
        compiler = query.get_compiler(using)
        sql, params = compiler.as_sql()
        # A text column's lookup gets the stand-in as a string: the same parameter.
        if [str(param) for param in params] != [str(stand_in) for stand_in in sample]:
            return None
        selected = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        if compiler.get_converters(selected):
            return None
        columns = (*query.extra_select, *query.values_select, *query.annotation_select)
        if len(columns) != len(selected):
            return None
        return sql, columns if as_dicts else None
