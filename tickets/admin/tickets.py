"""Ticket list and ticket page. Every change goes through tickets.services."""

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from supporthub.actors import Actor
from supporthub.api.pagination import EstimatingPaginator
from supporthub.exceptions import DomainError
from supporthub.roles import is_lead
from tickets import macros, saved_views, selectors, services, sla
from tickets.admin.assign import AssignToMeAdmin
from tickets.admin.attachments import uploads
from tickets.admin.base import AgentConsoleAdmin
from tickets.admin.filters import AssigneeFilter, SlaFilter, StatusFilter, TagFilter
from tickets.admin.forms import (
    BulkAddTagsForm,
    BulkAssignForm,
    BulkPriorityForm,
    BulkRemoveTagsForm,
    BulkStatusForm,
    MacroApplyForm,
    SavedViewForm,
    TicketConsoleForm,
    send_status,
)
from tickets.admin.live import LiveListAdmin
from tickets.admin.merging import MergeLinksAdminMixin
from tickets.admin.presence import PresenceAdmin
from tickets.models import DONE_STATUSES, MessageDirection, Ticket, TicketPriority
from tickets.search import ticket_search

EDITABLE = ("subject", "status", "priority", "assignee", "tags")


@admin.register(Ticket)
class TicketAdmin(MergeLinksAdminMixin, AssignToMeAdmin, LiveListAdmin, PresenceAdmin, AgentConsoleAdmin):
    form = TicketConsoleForm
    # Eight columns that fit 1,440 px beside the filters, one line per ticket (console.css).
    list_display = [
        "reference",
        "subject_line",
        "contact",
        "status_badge",
        "priority_badge",
        "sla_due",
        "assignee",
        "last_activity",
    ]
    list_display_links = ["reference", "subject_line"]
    list_filter = [StatusFilter, "priority", "channel", AssigneeFilter, SlaFilter, TagFilter]
    list_select_related = ["contact", "assignee"]
    list_per_page = 50
    # Searched by get_search_results; the list only needs to know that there is a search box.
    search_fields = ["reference"]
    search_help_text = "A reference, email or phone number; or words of the subject or messages."
    # Urgent and breached work first, then what has waited longest; with the default
    # (active) status filter the page is read in this order from ticket_triage_idx.
    ordering = ["-sla_breached", "-priority", "first_response_due", "-created_at"]
    # No second COUNT(*) of every ticket on each page for the "(N total)" link, and the
    # planner's estimate rather than a COUNT(*) once a list has more than
    # API_EXACT_COUNT_LIMIT tickets (the default list, a common word): as the API counts.
    show_full_result_count = False
    paginator = EstimatingPaginator
    actions = [
        "assign_to_me",
        "assign_to",
        "change_priority",
        "change_status",
        "add_tags",
        "remove_tags",
        "merge_selected",
    ]
    readonly_fields = [
        "reference",
        "channel",
        "contact",
        "created_at",
        "updated_at",
        "first_response_due",
        "resolution_due",
        "first_responded_at",
        "resolved_at",
        "first_response_breached",
        "resolution_breached",
        "message_count",
    ]
    change_form_template = "admin/tickets/ticket/change_form.html"

    class Media:
        css = {"all": ["tickets/console.css", "tickets/shortcuts.css"]}
        js = ["tickets/console.js", "tickets/shortcuts.js"]

    def get_ordering(self, request: HttpRequest) -> Any:
        """Triage order for work still to do; a list of done tickets (resolved, closed) or of
        every status is looked back on, most recent activity first. (Triage order over every
        ticket has no index: at 1,000,000 tickets it sorted them all, 0.5-0.9 s a page.)"""
        if request.GET.get(StatusFilter.parameter_name) in (StatusFilter.ALL, *DONE_STATUSES):
            return ["-updated_at"]
        return self.ordering

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        """The API's search (tickets.search.ticket_search): index lookups that repeat no row."""
        return ticket_search(queryset, search_term), False

    def get_fieldsets(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        if obj is None:
            return [
                (None, {"fields": ["subject", "description", "channel", "contact", "priority", "assignee"]})
            ]
        # The reply box first: at the top of the column that stays in view (console.css).
        return [
            (
                "Reply",
                {"fields": ["reply", "internal", "note", "reply_files", "macro_on_send", "seen_updated_at"]},
            ),
            (
                "Ticket",
                {
                    "fields": [
                        "reference",
                        "subject",
                        ("status", "priority", "assignee"),
                        "tags",
                        "contact",
                        "channel",
                    ]
                },
            ),
            (
                "Times",
                {
                    "classes": ["collapse"],
                    "fields": [
                        ("created_at", "updated_at"),
                        ("first_response_due", "first_responded_at", "first_response_breached"),
                        ("resolution_due", "resolved_at", "resolution_breached"),
                        "message_count",
                    ],
                },
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> Any:
        return self.readonly_fields if obj else ["reference"]

    def get_form(
        self, request: HttpRequest, obj: Ticket | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:  # the add form: a plain model form, saved through ticket_create
            kwargs["form"] = forms.ModelForm
            kwargs["fields"] = ["subject", "description", "channel", "contact", "priority", "assignee"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_autocomplete_fields(self, request: HttpRequest) -> Any:
        return ["contact"]

    # --- list columns -------------------------------------------------------------------
    @admin.display(description="subject", ordering="subject")
    def subject_line(self, ticket: Ticket) -> str:
        return format_html('<span title="{}">{}</span>', ticket.subject, ticket.subject)

    @admin.display(description="status", ordering="status")
    def status_badge(self, ticket: Ticket) -> str:
        return format_html(
            '<span class="status status-{}" title="{}">{}</span>',
            ticket.status,
            ticket.get_status_display(),
            ticket.status,
        )

    @admin.display(description="priority", ordering="priority")
    def priority_badge(self, ticket: Ticket) -> str:
        label = TicketPriority(ticket.priority).label
        return format_html('<span class="priority priority-{}">{}</span>', label, label)

    @admin.display(description="SLA due", ordering="first_response_due")
    def sla_due(self, ticket: Ticket) -> str:
        clock = sla.sla_next_clock(ticket)
        if clock.due is None:
            return "—"
        return format_html(
            '<span class="sla {}" title="{} due {}">{}</span>',
            clock.css,
            clock.name,
            clock.due,
            _sla_text(clock.name, clock.state, clock.due),
        )

    @admin.display(description="last activity", ordering="updated_at")
    def last_activity(self, ticket: Ticket) -> str:
        return format_html(
            '<span title="{}">{} ago</span>', ticket.updated_at, timesince(ticket.updated_at, depth=1)
        )

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("next/", wrap(self.next_ticket_view), name="tickets_ticket_next"),
            path("views/save/", wrap(self.view_save_view), name="tickets_ticket_view_save"),
            path("views/<int:pk>/delete/", wrap(self.view_delete_view), name="tickets_ticket_view_delete"),
            path("<int:pk>/macro/", wrap(self.macro_apply_view), name="tickets_ticket_macro"),
            *super().get_urls(),
        ]

    def next_ticket_view(self, request: HttpRequest) -> HttpResponse:
        """POST: take the next ticket (tickets.services.ticket_take_next) and open it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        ticket = services.ticket_take_next(agent=request.user)  # type: ignore[arg-type]
        if ticket is None:
            self.message_user(request, "No unassigned ticket is waiting.", messages.INFO)
            return redirect("admin:tickets_ticket_changelist")
        self.message_user(request, f"{ticket.reference} is yours now.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_change", ticket.pk)

    def macro_apply_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST `macro`: apply it to the ticket (tickets.macros.macro_apply) and show the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = get_object_or_404(Ticket, pk=pk)
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        form = MacroApplyForm(request.POST)
        if not form.is_valid():
            why = form.errors.get_json_data()["macro"][0]["message"]
            return HttpResponseBadRequest(f"macro: {why}", content_type="text/plain")
        macro = form.cleaned_data["macro"]
        try:
            macros.macro_apply(ticket=ticket, macro=macro, agent=request.user)  # type: ignore[arg-type]
        except DomainError as exc:
            self.message_user(
                request, f"Macro “{macro}” not applied, nothing changed: {exc.message}", messages.ERROR
            )
        else:
            self.message_user(request, f"Applied macro “{macro}”.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_change", ticket.pk)

    def view_save_view(self, request: HttpRequest) -> HttpResponse:
        """POST: save the list's current filters as a view (tickets.saved_views)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SavedViewForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Give the view a name of at most 100 characters.", messages.ERROR)
            return redirect("admin:tickets_ticket_changelist")
        try:
            view = saved_views.saved_view_create(user=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return redirect("admin:tickets_ticket_changelist")
        self.message_user(request, f"Saved the view “{view.name}”.", messages.SUCCESS)
        return redirect(f"{reverse('admin:tickets_ticket_changelist')}?{view.query}")

    def view_delete_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST: delete a saved view (one's own; admins also shared ones)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        view = get_object_or_404(saved_views.saved_views_for(request.user), pk=pk)  # type: ignore[arg-type]
        try:
            saved_views.saved_view_delete(view=view, user=request.user)  # type: ignore[arg-type]
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        self.message_user(request, f"Deleted the view “{view.name}”.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_changelist")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # The list needs the width the navigation sidebar takes; the breadcrumbs and the
        # index still lead everywhere.
        context = {
            "is_nav_sidebar_enabled": False,
            "can_take_next": self.has_change_permission(request),
            "saved_views": list(saved_views.saved_views_for(request.user)),  # type: ignore[arg-type]
            "can_share_views": is_lead(request.user),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    # --- saving through the services ------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Ticket, form: Form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.ticket_create(
                contact=data["contact"],
                subject=data["subject"],
                description=data.get("description", ""),
                channel=data["channel"],
                priority=data["priority"],
                assignee=data.get("assignee"),
                created_by=Actor.of(request.user),  # type: ignore[arg-type]
            )
            obj.pk = created.pk
            return
        with transaction.atomic():
            changes = {name: data[name] for name in EDITABLE if name in form.changed_data}
            services.ticket_update(ticket=obj, actor=Actor.of(request.user), **changes)  # type: ignore[arg-type]
            files = uploads(data.get("reply_files") or [])
            if data.get("reply"):
                services.message_create(
                    ticket=obj,
                    direction=MessageDirection.NOTE if data.get("internal") else MessageDirection.OUTBOUND,
                    body=data["reply"],
                    author_user=request.user,  # type: ignore[arg-type]
                    attachments=files,
                )
                files = []
            if data.get("note"):
                services.message_create(
                    ticket=obj,
                    direction=MessageDirection.NOTE,
                    body=data["note"],
                    author_user=request.user,  # type: ignore[arg-type]
                    attachments=files,
                )
            macro = data.get("macro_on_send")
            if macro:  # typed by its shortcut: its text went out in the reply box
                macros.macro_apply(
                    ticket=obj,
                    macro=macro,
                    agent=request.user,  # type: ignore[arg-type]
                    with_text=False,
                )
            status = send_status(data)
            if status:  # "Send and set pending" / "Send and resolve": after the message
                services.ticket_update(ticket=obj, actor=Actor.of(request.user), status=status)  # type: ignore[arg-type]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        """A service may refuse what the form allowed: another agent changed the ticket between
        validation and save. The admin's transaction then rolls back everything this save
        wrote, and the agent is told why on the page as it is now, instead of a 500."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(
                request,
                f"Nothing was saved: {exc.message} Someone may have changed the ticket meanwhile; "
                "it is shown as it is now.",
                messages.ERROR,
            )
            return redirect(request.get_full_path())

    def response_change(self, request: HttpRequest, obj: Ticket) -> HttpResponse:
        """After a send button that sent something, the ticket page again, saying so; with
        nothing written (Enter pressed in a field) the page is saved as by *Save*."""
        written = request.POST.get("reply", "").strip() or request.POST.get("note", "").strip()
        if not (request.POST.get("send") and written):
            return super().response_change(request, obj)
        obj.refresh_from_db(fields=["status"])
        self.message_user(request, f"Sent. {obj.reference} is {obj.status}.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_change", obj.pk)

    def save_related(self, request: HttpRequest, form: Form, formsets: Any, change: bool) -> None:
        """Nothing to save: tickets have no inlines, and services wrote everything."""

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        ticket = self.get_object(request, object_id)
        # Like the list, the page needs the width the navigation sidebar takes.
        context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        if ticket is not None:
            context.update(selectors.ticket_console(ticket=ticket, agent=request.user))  # type: ignore[arg-type]
        return super().change_view(request, object_id, form_url, extra_context=context)

    # --- bulk actions -------------------------------------------------------------------------
    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._bulk(request, queryset, assignee=request.user)

    @admin.action(description="Assign to…", permissions=["change"])
    def assign_to(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return self._bulk_with_form(request, queryset, BulkAssignForm, "Assign tickets")

    @admin.action(description="Change priority…", permissions=["change"])
    def change_priority(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return self._bulk_with_form(request, queryset, BulkPriorityForm, "Change priority")

    @admin.action(description="Change status…", permissions=["change"])
    def change_status(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return self._bulk_with_form(request, queryset, BulkStatusForm, "Change status")

    @admin.action(description="Add tags…", permissions=["change"])
    def add_tags(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return self._bulk_with_form(request, queryset, BulkAddTagsForm, "Add tags")

    @admin.action(description="Remove tags…", permissions=["change"])
    def remove_tags(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return self._bulk_with_form(request, queryset, BulkRemoveTagsForm, "Remove tags")

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Ticket], **changes: Any) -> None:
        tickets = list(queryset)
        actor = Actor.of(request.user)  # type: ignore[arg-type]
        problems = services.tickets_bulk_update(tickets=tickets, actor=actor, **changes)
        done = len(tickets) - len(problems)
        if done:
            self.message_user(request, f"Updated {done} ticket{'s' if done != 1 else ''}.", messages.SUCCESS)
        for problem in problems:
            self.message_user(request, f"Not changed: {problem}", messages.ERROR)

    def _bulk_with_form(
        self, request: HttpRequest, queryset: QuerySet[Ticket], form_class: type[Form], title: str
    ) -> HttpResponse | None:
        """Show a small form first; apply it when it comes back with `apply`."""
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                self._bulk(request, queryset, **form.cleaned_data)
                return None
        else:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "tickets": queryset.select_related("contact"),
            "action": request.POST.get("action"),
            "opts": self.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/ticket/bulk_action.html", context)


def _sla_text(name: str, state: str, due: datetime) -> str:
    """A clock in a few words: "reply in 3 hours", "resolve 2 days late", "resolution met"."""
    if state == "met":
        return f"{name} met"
    verb = "reply" if name == sla.Clock.FIRST_RESPONSE.label else "resolve"
    now = timezone.now()
    if due > now:
        return f"{verb} in {timesince(now, due, depth=1)}"
    return f"{verb} {timesince(due, now, depth=1)} late"
