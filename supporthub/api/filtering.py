"""The /v1 filter and ordering backends: django-filter and DRF's ordering, strict about input."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, serializers
from rest_framework.request import Request


class FilterBackend(DjangoFilterBackend):
    """django-filter, run only when the query string names one of the view's filters.

    Without filter parameters a FilterSet filters nothing, but building its form (a deep
    copy of every filter field) was about a third of the cost of an unfiltered page or a
    detail request. Unknown parameters are ignored, as django-filter ignores them. A filter
    given with an empty value is a 400 (django-filter would read it as "no filter").
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(filterset_class.base_filters):
            return queryset
        empty = {
            name: ["May not be empty: leave the parameter out to match everything."]
            for name in filterset_class.base_filters
            if name in request.query_params and not any(request.query_params.getlist(name))
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().filter_queryset(request, queryset, view)


class OrderingFilter(filters.OrderingFilter):
    """DRF's `?ordering=`; a field the list cannot be ordered by is a 400 naming it (DRF ignores it)."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        if request.query_params.get(self.ordering_param) == "":
            raise serializers.ValidationError({self.ordering_param: ["May not be empty."]})
        return super().get_ordering(request, queryset, view)

    def remove_invalid_fields(self, queryset: QuerySet[Any], fields: Any, view: Any, request: Request) -> Any:
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        invalid = [repr(term) for term in fields if term not in valid]
        if invalid:
            offered = self.get_valid_fields(queryset, view, {"request": request})
            choices = ", ".join(name for name, _ in offered)
            message = f"Cannot order by {', '.join(invalid)}; choose from {choices} (- for descending)."
            raise serializers.ValidationError({self.ordering_param: [message]})
        return valid

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        names = "|".join(re.escape(name) for name, _ in self.get_valid_fields(view.queryset, view))
        term = f"-?(?:{names})"
        parameters[0]["schema"]["pattern"] = f"^{term}(?:,{term})*$"
        parameters[0]["description"] = "Comma-separated fields, each optionally prefixed by - for descending."
        return parameters
