"""Contacts, canned replies, macros, SLA targets and agent shifts."""

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from tickets import services
from tickets.admin.base import AgentConsoleAdmin
from tickets.models import ACTIVE_STATUSES, AgentShift, CannedReply, Contact, Macro, SlaPolicy, TicketChange


@admin.register(Contact)
class ContactAdmin(AgentConsoleAdmin):
    list_display = ["name", "email", "phone", "created_at"]
    search_fields = ["name", "email", "phone"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "shortcut", "updated_at"]
    search_fields = ["title", "shortcut", "body"]


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    """Admins (leads) edit macros; agents (view permission only) apply them on the ticket page."""

    list_display = [
        "name",
        "shortcut",
        "status",
        "priority",
        "assignee",
        "assign_to_applier",
        "add_tags",
        "updated_at",
    ]
    list_select_related = ["assignee"]
    search_fields = ["name", "shortcut", "body"]
    fieldsets = [
        (None, {"fields": ["name", "shortcut"]}),
        ("Reply", {"fields": ["body", "internal"]}),
        (
            "Field changes (empty: left as they are)",
            {"fields": ["status", "priority", ("assignee", "assign_to_applier"), "add_tags"]},
        ),
    ]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["priority", "first_response_minutes", "resolution_minutes"]


@admin.register(TicketChange)
class TicketChangeAdmin(admin.ModelAdmin):
    list_display = ["ticket", "field", "old_value", "new_value", "actor_label", "created_at"]
    list_filter = ["field"]
    list_select_related = ["ticket", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AgentShift)
class AgentShiftAdmin(admin.ModelAdmin):
    list_display = ["user", "on_shift", "last_assigned_at", "open_tickets"]
    list_editable = ["on_shift"]
    list_select_related = ["user"]
    actions = ["start_shift", "end_shift"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentShift]:
        active = Q(user__assigned_tickets__status__in=ACTIVE_STATUSES)
        return (
            super().get_queryset(request).annotate(open_count=Count("user__assigned_tickets", filter=active))
        )

    @admin.display(description="open tickets", ordering="open_count")
    def open_tickets(self, shift: AgentShift) -> int:
        return shift.open_count  # type: ignore[attr-defined]

    @admin.action(description="Start shift (take new tickets)", permissions=["change"])
    def start_shift(self, request: HttpRequest, queryset: QuerySet[AgentShift]) -> None:
        for shift in queryset.select_related("user"):
            services.agent_shift_set(user=shift.user, on_shift=True)

    @admin.action(description="End shift", permissions=["change"])
    def end_shift(self, request: HttpRequest, queryset: QuerySet[AgentShift]) -> None:
        for shift in queryset.select_related("user"):
            services.agent_shift_set(user=shift.user, on_shift=False)
