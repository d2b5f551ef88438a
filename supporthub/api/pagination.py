"""Page-number pagination that stays fast on million-row tables."""

import time
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response

# Estimates are kept per process for a few seconds: they only change with ANALYZE, and a
# busy list would otherwise pay a planner round trip on every page.
ESTIMATE_SECONDS = 10.0
_ESTIMATE_LIMIT = 512
_estimates: dict[tuple[str, str, tuple[Any, ...]], tuple[float, int]] = {}


def forget_estimates() -> None:
    _estimates.clear()


def planner_row_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of how many rows `queryset` returns (None elsewhere)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    # Only the row count matters: without the joined columns and the ORDER BY, planning is
    # several times cheaper.
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing (`pk__in=[]`): no SQL to run
        return 0
    key = (queryset.db, sql, tuple(params))
    now = time.monotonic()
    memo = _estimates.get(key)
    if memo is not None and now - memo[0] < ESTIMATE_SECONDS:
        return memo[1]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    if len(_estimates) >= _ESTIMATE_LIMIT:
        _estimates.clear()
    _estimates[key] = (now, estimate)
    return estimate


class EstimatingPaginator(Paginator):
    """Counts exactly up to API_EXACT_COUNT_LIMIT rows; above that, uses the planner's estimate.

    An exact COUNT(*) over a large match costs a scan of every matching row on every page
    request; a list's total only needs to be right in magnitude once it is that large.
    """

    @cached_property
    def count(self) -> int:
        self.count_is_estimate = False
        if isinstance(self.object_list, QuerySet):
            estimate = planner_row_estimate(self.object_list)
            if estimate is not None and estimate > settings.API_EXACT_COUNT_LIMIT:
                self.count_is_estimate = True
                return estimate
        return super().count


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`; M above 100 is served as 100.

    The body has count, count_is_estimate, next, previous, results. A page or page_size that
    is not a positive whole number is a 400 (DRF would ignore an empty one); a page past the
    end is a 404.
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = EstimatingPaginator

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise serializers.ValidationError({self.page_size_query_param: ["A positive whole number."]})
        return min(int(raw), self.max_page_size)

    def get_page_number(self, request: Request, paginator: Paginator) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw in self.last_page_strings:
            return super().get_page_number(request, paginator)
        if not raw.isdigit() or int(raw) < 1:
            raise serializers.ValidationError({self.page_query_param: ["A positive whole number."]})
        return raw

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        paginator = self.page.paginator  # type: ignore[union-attr]
        response.data["count_is_estimate"] = getattr(paginator, "count_is_estimate", False)
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response_schema = super().get_paginated_response_schema(schema)
        response_schema["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": "True when `count` is PostgreSQL's estimate (over API_EXACT_COUNT_LIMIT).",
        }
        return response_schema

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
