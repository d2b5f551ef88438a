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

# Stand-ins the queryset is built with; each must come back as one SQL parameter, in order.
_SAMPLE = (-7_654_321, -7_654_322, -7_654_323, -7_654_324)


class CompiledRead:
    """`build(*params)` returns a `.values()` queryset; `rows(*params)` runs its SQL, a page
    of it with `limit` and `offset`.

    Compiling checks that the SQL's parameters are exactly the build arguments in order
    (nothing folded into the SQL text, nothing added) and that no column needs a converter
    (SQLite's datetimes do, PostgreSQL's columns here do not). When either check fails,
    `rows` returns None and the caller runs the queryset itself: slower, never wrong.
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], arity: int = 1) -> None:
        if not 0 <= arity <= len(_SAMPLE):
            raise ValueError(f"arity must be 0-{len(_SAMPLE)}")
        self._build = build
        self._arity = arity
        self._compiled: dict[str, tuple[str, tuple[str, ...]] | None] = {}

    def queryset(self, *params: Any) -> QuerySet[Any]:
        """The queryset this read stands for, built for `params`."""
        return self._build(*params)

    def sql(self, using: str = "default") -> str | None:
        """The compiled SQL, or None when reads on `using` go through the ORM."""
        statement = self._statement(using)
        return statement[0] if statement else None

    def rows(
        self, *params: Any, limit: int | None = None, offset: int = 0, using: str = "default"
    ) -> list[dict[str, Any]] | None:
        """The rows for `params`, or None when this read cannot be compiled on `using`."""
        statement = self._statement(using)
        if statement is None:
            return None
        sql, columns = statement
        if limit is not None:  # what Django's compiler appends for a slice, as parameters
            sql, params = f"{sql} LIMIT %s OFFSET %s", (*params, limit, offset)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _statement(self, using: str) -> tuple[str, tuple[str, ...]] | None:
        try:
            return self._compiled[using]
        except KeyError:
            self._compiled[using] = statement = self._compile(using)
            return statement

    def _compile(self, using: str) -> tuple[str, tuple[str, ...]] | None:
        sample = _SAMPLE[: self._arity]
        query = self._build(*sample).query
        if query.is_sliced:
            return None
        compiler = query.get_compiler(using)
        sql, params = compiler.as_sql()
        if tuple(params) != sample:
            return None
        selected = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        if compiler.get_converters(selected):
            return None
        columns = (*query.extra_select, *query.values_select, *query.annotation_select)
        if len(columns) != len(selected):
            return None
        return sql, columns


class CompiledSlice:
    """A paginator's object list: `queryset` counts the rows, `read` reads each page.

    The caller guarantees that `queryset` matches what `read` selects (and tests it). Where
    the read does not compile, a page comes from the read's own queryset.
    """

    def __init__(self, queryset: QuerySet[Any], read: CompiledRead, *params: Any) -> None:
        self.queryset = queryset
        self._read = read
        self._params = params

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        start, stop = window.start or 0, window.stop
        if window.step is not None or stop is None or start < 0 or stop < start:
            raise ValueError("CompiledSlice takes [start:stop] windows only")
        rows = self._read.rows(*self._params, limit=stop - start, offset=start, using=self.queryset.db)
        if rows is None:
            rows = list(self._read.queryset(*self._params)[start:stop])
        return rows
