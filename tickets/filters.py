"""Query-string filters for the ticket and message lists."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from tickets.models import (
    TAG_MAX_LENGTH,
    Message,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    tag_names_clean,
)
from tickets.search import ticket_search

MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """An object id: a whole number within the database's range (else a 400)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(**kwargs)


@extend_schema_field({"type": "boolean"})
class StrictBooleanFilter(filters.TypedChoiceFilter):
    """`true` or `false`; anything else is a 400 rather than silently ignored."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(**kwargs)


class TagNamesField(forms.Field):
    """Every value of a repeated parameter, each a clean tag name."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        return tag_names_clean(value or [])


@extend_schema_field({"type": "array", "items": {"type": "string", "maxLength": TAG_MAX_LENGTH}})
class TagFilter(filters.MultipleChoiceFilter):
    """Tickets with every tag named (`?tag=a&tag=b`)."""

    field_class = TagNamesField


class TicketFilter(filters.FilterSet):
    # distinct=False: these are columns of the ticket row itself, so no row can repeat; the
    # default SELECT DISTINCT over every column made PostgreSQL sort all matches.
    status = filters.MultipleChoiceFilter(
        choices=TicketStatus.choices, help_text="Repeat to match any of several.", distinct=False
    )
    priority = filters.MultipleChoiceFilter(
        choices=[(member.label, member.label) for member in TicketPriority],
        method="filter_priority",
        help_text="Repeat to match any of several.",
        distinct=False,
    )
    channel = filters.MultipleChoiceFilter(choices=TicketChannel.choices, distinct=False)
    assignee = IdFilter(field_name="assignee_id", help_text="A user id.")
    unassigned = StrictBooleanFilter(field_name="assignee", lookup_expr="isnull")
    sla_breached = StrictBooleanFilter(help_text="Either SLA clock breached.")
    first_response_breached = StrictBooleanFilter()
    resolution_breached = StrictBooleanFilter()
    q = filters.CharFilter(method="filter_q", max_length=200, help_text="Full-text search.")
    # One join per tag named; a tag's name is unique, so no ticket repeats.
    tag = TagFilter(
        field_name="tags__name", conjoined=True, distinct=False, help_text="Repeat to require several tags."
    )

    class Meta:
        model = Ticket
        fields = [
            "status",
            "priority",
            "channel",
            "assignee",
            "unassigned",
            "sla_breached",
            "first_response_breached",
            "resolution_breached",
            "q",
            "tag",
        ]

    def filter_priority(self, queryset: QuerySet[Ticket], name: str, value: list[str]) -> QuerySet[Ticket]:
        if not value:
            return queryset
        values = [member.value for member in TicketPriority if member.label in value]
        return queryset.filter(priority__in=values)

    def filter_q(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return ticket_search(queryset, value)


class MessageFilter(filters.FilterSet):
    # An unknown ticket id is an empty list, not an error.
    ticket = IdFilter(field_name="ticket_id", help_text="A ticket id.")

    class Meta:
        model = Message
        fields = ["ticket", "direction"]
