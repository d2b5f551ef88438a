"""Sidebar filters for the ticket list."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tickets.models import ACTIVE_STATUSES, Tag, Ticket, TicketStatus
from tickets.search import ticket_identifier_search


class StatusFilter(admin.SimpleListFilter):
    """Defaults to the work still to do (new, open, pending), except for a search by a
    reference, email or phone number: that looks at every status (an agent pasting the
    reference of a resolved ticket wants that ticket) unless a status is chosen."""

    title = "status"
    parameter_name = "status"
    ACTIVE = "active"
    ALL = "all"

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        search = request.GET.get(SEARCH_VAR, "")
        names_tickets = ticket_identifier_search(Ticket.objects.none(), search) is not None
        self.default = self.ALL if names_tickets else self.ACTIVE

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.ACTIVE, "Active (new, open, pending)"), *TicketStatus.choices, (self.ALL, "All")]

    def choices(self, changelist: Any) -> Any:
        value = self.value() or self.default
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value() or self.default
        if value == self.ACTIVE:
            return queryset.filter(status__in=ACTIVE_STATUSES)
        if value in TicketStatus.values:
            return queryset.filter(status=value)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"
    MINE = "mine"
    UNASSIGNED = "none"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        agents = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        return [
            (self.MINE, "Mine"),
            (self.UNASSIGNED, "Unassigned"),
            *[(str(agent.pk), agent.get_full_name() or agent.get_username()) for agent in agents],
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value == self.MINE:
            return queryset.filter(assignee=request.user.pk)
        if value == self.UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee=int(value))
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("breached", "Breached"), ("overdue", "Past a due time"), ("ok", "Within SLA")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        now = timezone.now()
        if self.value() == "breached":
            return queryset.filter(sla_breached=True)
        if self.value() == "overdue":
            return queryset.filter(
                first_responded_at__isnull=True, first_response_due__lt=now
            ) | queryset.filter(resolution_due__lt=now, resolved_at__isnull=True)
        if self.value() == "ok":
            return queryset.filter(sla_breached=False)
        return queryset


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in Tag.objects.values_list("name", flat=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value():
            return queryset.filter(tags__name=self.value())  # a name is unique: no row repeats
        return queryset
