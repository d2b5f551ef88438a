"""The ticket page's "Assign to me" (its button and the `a` shortcut in shortcuts.js)."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path

from supporthub.actors import Actor
from tickets import services


class AssignToMeAdmin(admin.ModelAdmin):
    """Adds `<id>/assign-to-me/`: a CSRF-protected POST that gives the ticket to the requester
    through tickets.services.ticket_update (history with the actor, the assignee told)."""

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.assign_to_me_view)
        return [
            path("<path:object_id>/assign-to-me/", view, name="tickets_ticket_assign_to_me"),
            *super().get_urls(),
        ]

    def assign_to_me_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self.get_object(request, object_id)
        if ticket is None:
            raise Http404(f"No ticket with id “{object_id}”.")
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        if ticket.assignee_id == request.user.pk:
            self.message_user(request, f"{ticket.reference} is already yours.", messages.INFO)
        else:
            services.ticket_update(ticket=ticket, actor=Actor.of(request.user), assignee=request.user)  # type: ignore[arg-type]
            self.message_user(request, f"{ticket.reference} is yours now.", messages.SUCCESS)
        return redirect("admin:tickets_ticket_change", ticket.pk)
