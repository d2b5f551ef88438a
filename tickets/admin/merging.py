"""The ticket page's "Merge into…" and links, and the list's "Merge selected into one…";
all through tickets.merging."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from supporthub.actors import Actor
from supporthub.exceptions import DomainError
from tickets import merging
from tickets.models import Ticket
from tickets.selectors import ticket_by_identifier, ticket_relations


class TicketIdentifierField(forms.CharField):
    """A ticket named by its reference (or id), as agents type it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "SH-1042", "size": 12}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Ticket:
        text = super().clean(value)
        ticket = ticket_by_identifier(text)
        if ticket is None:
            raise forms.ValidationError(f"No ticket {text}.")
        return ticket


class MergeIntoForm(forms.Form):
    into = TicketIdentifierField(label="Merge into")


class LinkForm(forms.Form):
    ticket = TicketIdentifierField(label="Link ticket")


class MergeSelectedForm(forms.Form):
    """Which of the selected tickets the others merge into."""

    target = forms.ModelChoiceField(
        queryset=Ticket.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        label="Merge into",
        help_text="The others are closed as duplicates of this one: their messages and calls move to "
        "it, and each contact is told once.",
    )

    def __init__(self, *args: Any, tickets: QuerySet[Ticket], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = tickets  # type: ignore[attr-defined]
        self.fields["target"].label_from_instance = lambda t: f"{t.reference} — {t.subject}"  # type: ignore[attr-defined]


class MergeLinksAdminMixin(admin.ModelAdmin):
    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/merge/", wrap(self.merge_view), name="tickets_ticket_merge"),
            path("<int:pk>/link/", wrap(self.link_view), name="tickets_ticket_link"),
            path("<int:pk>/unlink/", wrap(self.unlink_view), name="tickets_ticket_unlink"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = dict(extra_context or {})
        if object_id.isdigit():  # anything else: the admin's own answer (not found)
            context.update(ticket_relations(ticket_id=int(object_id)))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _changeable(self, request: HttpRequest, pk: int) -> Ticket:
        ticket = get_object_or_404(Ticket, pk=pk)
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        return ticket

    def merge_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST `into`: a page to confirm the merge; POST with `confirm`: merge, open the target."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._changeable(request, pk)
        form = MergeIntoForm(request.POST)
        if not form.is_valid():
            return self._back(request, ticket, " ".join(map(str, form.errors["into"])))
        target = form.cleaned_data["into"]
        if "confirm" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": f"Merge {ticket.reference} into {target.reference}?",
                "source": ticket,
                "target": target,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/tickets/ticket/merge_confirm.html", context)
        try:
            merging.ticket_merge(source=ticket, target=target, actor=Actor.of(request.user))  # type: ignore[arg-type]
        except DomainError as exc:
            return self._back(request, ticket, f"Not merged: {exc.message}")
        self.message_user(request, f"Merged {ticket.reference} into {target.reference}.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_change", target.pk)

    def link_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._relink(request, pk, merging.ticket_link, "Linked")

    def unlink_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._relink(request, pk, merging.ticket_unlink, "Unlinked")

    def _relink(self, request: HttpRequest, pk: int, verb: Any, done: str) -> HttpResponse:
        """POST `ticket`: link it to (or unlink it from) ticket `pk`, back to the ticket page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._changeable(request, pk)
        form = LinkForm(request.POST)
        if not form.is_valid():
            return self._back(request, ticket, " ".join(map(str, form.errors["ticket"])))
        other = form.cleaned_data["ticket"]
        try:
            verb(ticket=ticket, other=other, actor=Actor.of(request.user))  # type: ignore[arg-type]
        except DomainError as exc:
            return self._back(request, ticket, exc.message)
        self.message_user(request, f"{done} {other.reference}.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_change", ticket.pk)

    def _back(self, request: HttpRequest, ticket: Ticket, error: str) -> HttpResponse:
        self.message_user(request, error, messages.ERROR)
        return redirect("admin:tickets_ticket_change", ticket.pk)

    @admin.action(description="Merge selected into one…", permissions=["change"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        """Pick which selected ticket the others merge into; each merge is its own transaction."""
        tickets = queryset.select_related("contact").order_by("created_at", "id")
        if "apply" in request.POST:
            form = MergeSelectedForm(request.POST, tickets=tickets)
            if form.is_valid():
                self._merge_into(request, list(tickets), form.cleaned_data["target"])
                return None
        else:
            form = MergeSelectedForm(tickets=tickets)
        if len(tickets) < 2:
            self.message_user(request, "Select at least two tickets to merge.", messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge tickets",
            "form": form,
            "tickets": tickets,
            "action": request.POST.get("action"),
            "opts": self.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/ticket/bulk_action.html", context)

    def _merge_into(self, request: HttpRequest, tickets: list[Ticket], target: Ticket) -> None:
        actor = Actor.of(request.user)  # type: ignore[arg-type]
        problems = merging.tickets_bulk_merge(tickets=tickets, target=target, actor=actor)
        merged = len(tickets) - 1 - len(problems)
        if merged:
            plural = "s" if merged != 1 else ""
            self.message_user(
                request, f"Merged {merged} ticket{plural} into {target.reference}.", messages.SUCCESS
            )
        for problem in problems:
            self.message_user(request, f"Not merged: {problem}", messages.ERROR)
