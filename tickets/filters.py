"""Query-string filters for the ticket and message lists."""

from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from tickets.models import Message, Ticket, TicketChannel, TicketPriority, TicketStatus


def ticket_search(queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    """Full-text search over subject and description, plus exact reference/contact matches.

    PostgreSQL uses websearch syntax against a GIN expression index; SQLite (development)
    falls back to substring matching.
    """
    query = query.strip()
    if not query:
        return queryset
    exact = Q(reference__iexact=query) | Q(contact__email__iexact=query) | Q(contact__phone=query)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector("subject", "description", config="english")
        text = Q(search=SearchQuery(query, config="english", search_type="websearch"))
        return queryset.annotate(search=vector).filter(text | exact)
    return queryset.filter(Q(subject__icontains=query) | Q(description__icontains=query) | exact)


class StrictBooleanFilter(filters.TypedChoiceFilter):
    """`true` or `false`; anything else is a 400 rather than silently ignored."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(**kwargs)


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=TicketStatus.choices, help_text="Repeat to match any of several."
    )
    priority = filters.MultipleChoiceFilter(
        choices=[(member.label, member.label) for member in TicketPriority],
        method="filter_priority",
        help_text="Repeat to match any of several.",
    )
    channel = filters.MultipleChoiceFilter(choices=TicketChannel.choices)
    assignee = filters.NumberFilter(field_name="assignee_id", help_text="A user id.")
    unassigned = StrictBooleanFilter(field_name="assignee", lookup_expr="isnull")
    sla_breached = StrictBooleanFilter()
    q = filters.CharFilter(method="filter_q", max_length=200, help_text="Full-text search.")

    class Meta:
        model = Ticket
        fields = ["status", "priority", "channel", "assignee", "unassigned", "sla_breached", "q"]

    def filter_priority(self, queryset: QuerySet[Ticket], name: str, value: list[str]) -> QuerySet[Ticket]:
        if not value:
            return queryset
        values = [member.value for member in TicketPriority if member.label in value]
        return queryset.filter(priority__in=values)

    def filter_q(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return ticket_search(queryset, value)


class MessageFilter(filters.FilterSet):
    class Meta:
        model = Message
        fields = ["ticket", "direction"]
