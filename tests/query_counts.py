"""Query-count checks: a page's SQL statements do not grow with the rows it shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.pagination import forget_estimates

FEW, MANY = 3, 20


def statements(client: Any, url: str) -> list[str]:
    """The SQL of one GET of `url` (which must answer 200), starting cold."""
    forget_estimates()  # no planner estimate kept from the last request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries]


def queries(client: Any, url: str) -> int:
    """How many SQL statements one GET of `url` runs."""
    return len(statements(client, url))


def assert_constant(client: Any, url: str | Callable[[], str], add: Callable[[int], object]) -> int:
    """Add FEW rows with `add(i)`, count `url`'s statements, add up to MANY, count again: the
    two counts are equal. Returns the count. A request before each count warms per-process
    caches (the API key, content types, SLA targets)."""
    for i in range(FEW):
        add(i)
    target = url if isinstance(url, str) else url()
    client.get(target)
    few = statements(client, target)
    for i in range(FEW, MANY):
        add(i)
    target = url if isinstance(url, str) else url()
    client.get(target)  # the API key is re-read once its memo expires (a few seconds)
    many = statements(client, target)
    shown = "\n".join(sql[:160] for sql in many)
    assert len(many) == len(few), f"{target}: {len(few)} statements with {FEW} rows, {len(many)} with {MANY}:\n{shown}"
    return len(few)
