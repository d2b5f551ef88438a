"""Query-string filters for the ticket and message lists."""

import re
from typing import Any

from django import forms
from django.db import connection
from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import (
    TAG_MAX_LENGTH,
    Message,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    tag_names_clean,
)

REFERENCE_RE = re.compile(r"^[A-Za-z]+-\d+$")


def ticket_search(queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    """Search tickets: a reference, an email or a phone number finds exactly that; any
    other text is a full-text search over subject and description.

    Each branch is a single indexed lookup (an OR across them would defeat the indexes).
    PostgreSQL uses websearch syntax against a GIN expression index; SQLite (development)
    falls back to substring matching.
    """
    query = query.strip()
    if not query:
        return queryset
    exact = ticket_identifier_search(queryset, query)
    if exact is not None:
        return exact
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector("subject", "description", config="english")
        return queryset.annotate(search=vector).filter(
            search=SearchQuery(query, config="english", search_type="websearch")
        )
    return queryset.filter(Q(subject__icontains=query) | Q(description__icontains=query))


def ticket_identifier_search(queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket] | None:
    """The tickets `query` names when it is a reference, an email or a phone number (in
    any case; an index lookup each), else None."""
    query = query.strip()
    if REFERENCE_RE.match(query):
        return queryset.filter(reference__iexact=query)
    if "@" in query and " " not in query:
        return queryset.filter(contact__email__iexact=query)
    if query.startswith("+"):
        try:
            return queryset.filter(contact__phone=to_e164(query))
        except InvalidPhoneNumber:
            pass
    return None


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
