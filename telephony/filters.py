"""Query-string filters for /v1/calls."""

from datetime import UTC
from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from telephony.models import CallDirection, CallLog, CallOutcome, CallStatus
from tickets.filters import IdFilter, StrictBooleanFilter


class _UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC."""

    def clean(self, value: Any) -> Any:
        result = super().clean(value)
        if result is None:
            return None
        try:  # PostgreSQL refuses offsets beyond ±16 h that ISO 8601 allows: send UTC
            return result.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Date-time out of range.") from None


class StrictIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField


class CallLogFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(  # a column of the row: no DISTINCT needed
        choices=CallStatus.choices, help_text="Repeat to match any of several.", distinct=False
    )
    direction = filters.ChoiceFilter(choices=CallDirection.choices)
    outcome = filters.ChoiceFilter(choices=[choice for choice in CallOutcome.choices if choice[0]])
    ticket = IdFilter(field_name="ticket_id", help_text="A ticket id.")
    from_number = filters.CharFilter(max_length=20, help_text="Exact E.164 number.")
    to_number = filters.CharFilter(max_length=20, help_text="Exact E.164 number.")
    has_voicemail = StrictBooleanFilter(method="filter_has_voicemail", help_text="Calls with a recording.")
    created_after = StrictIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = StrictIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = CallLog
        fields = [
            "status",
            "direction",
            "outcome",
            "ticket",
            "from_number",
            "to_number",
            "has_voicemail",
            "created_after",
            "created_before",
        ]

    def filter_has_voicemail(
        self, queryset: QuerySet[CallLog], name: str, value: bool | None
    ) -> QuerySet[CallLog]:
        if value is None:
            return queryset
        return queryset.exclude(recording_sid="") if value else queryset.filter(recording_sid="")
