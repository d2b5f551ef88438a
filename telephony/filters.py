"""Query-string filters for /v1/calls."""

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from telephony.models import CallDirection, CallLog, CallOutcome, CallStatus


class CallLogFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=CallStatus.choices, help_text="Repeat to match any of several."
    )
    direction = filters.ChoiceFilter(choices=CallDirection.choices)
    outcome = filters.ChoiceFilter(choices=[c for c in CallOutcome.choices if c[0]])
    ticket = filters.NumberFilter(field_name="ticket_id", help_text="A ticket id.")
    from_number = filters.CharFilter(max_length=20, help_text="Exact E.164 number.")
    to_number = filters.CharFilter(max_length=20, help_text="Exact E.164 number.")
    has_voicemail = filters.BooleanFilter(method="filter_has_voicemail", help_text="Calls with a recording.")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
