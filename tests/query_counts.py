"""Query-count checks: a page's SQL statements do not grow with the rows it shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.pagination import forget_estimates

FEW, MANY = 3, 20


def statements(client: Any, url: str) -> list[str]:
    """The SQL of one GET of `url` (which must answer 200), starting cold, without the API key
    check: a verified key is re-read after a second (supporthub.services), which a loaded
    machine can take between two requests."""
    forget_estimates()  # no planner estimate kept from the last request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [
        query["sql"] for query in captured.captured_queries if "rest_framework_api_key" not in query["sql"]
    ]


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
    client.get(target)
    many = statements(client, target)
    shown = "\n".join(sql[:160] for sql in many)
    assert len(many) == len(few), (
        f"{target}: {len(few)} statements with {FEW} rows, {len(many)} with {MANY}:\n{shown}"
    )
    return len(few)
