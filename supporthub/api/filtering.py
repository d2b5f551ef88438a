"""The /v1 filter backend and FilterSet base: django-filter, with less work per request."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.request import Request


class FilterBackend(DjangoFilterBackend):
    """django-filter, run only when the query string names one of the view's filters.

    Without filter parameters a FilterSet filters nothing, but building its form (a deep
    copy of every filter field) was about a third of the cost of an unfiltered page or a
    detail request (perf, issue 8). Unknown parameters were ignored before and still are.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or request.query_params.keys().isdisjoint(filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)


class FilterSet(filters.FilterSet):
    """A FilterSet whose form class is built once per FilterSet class, not per request.

    django-filter builds a new Form class, and each filter's form field, for every request:
    8% of a filtered ticket list's worker time (perf, issue 8). Those depend only on the
    declared filters, so the class is built once; each form instance still gets deep copies
    of its fields (Django's forms do that), so requests share nothing they change. Filters
    whose field depends on the request (ModelChoiceFilter and the other QuerySetRequestMixin
    filters) are refused when the form class is first built.
    """

    def get_form_class(self) -> type[forms.Form]:
        form = _FORM_CLASSES.get(type(self))
        if form is None:
            form = _FORM_CLASSES[type(self)] = _form_class(type(self))
        return form


_FORM_CLASSES: dict[type[FilterSet], type[forms.Form]] = {}


def _form_class(filterset_class: type[FilterSet]) -> type[forms.Form]:
    declared = copy.deepcopy(filterset_class.base_filters)  # leave the class's own filters bare
    fields = {}
    for name, filter_ in declared.items():
        if isinstance(filter_, QuerySetRequestMixin):
            raise TypeError(
                f"{filterset_class.__name__}.{name}: {type(filter_).__name__} builds its field per "
                "request; use django_filters' FilterSet for this class"
            )
        filter_.model = filterset_class._meta.model  # as django-filter does: the field's label
        fields[name] = filter_.field
    form: type[forms.Form] = type(f"{filterset_class.__name__}Form", (filterset_class._meta.form,), fields)
    return form
