"""Presence on the ticket page: presence.js posts a heartbeat to `<id>/presence/` and shows
who else has the ticket open (tickets.presence)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import path

from supporthub.ratelimits import too_many_requests, user_over_limit
from tickets import presence


class PresenceAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["tickets/live.css"]}
        js = ["tickets/presence.js"]

    def get_urls(self) -> list[Any]:
        beat = self.admin_site.admin_view(self.presence_view)
        return [path("<path:object_id>/presence/", beat, name="tickets_ticket_presence"), *super().get_urls()]

    def presence_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """POST `state` (viewing, typing or gone): {others: [{name, state, text}], interval}.
        CSRF-protected (admin_view) and limited per agent (RATELIMIT_PRESENCE)."""
        if request.method != "POST":
            return JsonResponse({"detail": "Use POST."}, status=405)
        state = request.POST.get("state", "")
        if state not in presence.STATES:
            return JsonResponse(
                {"detail": f"state: must be one of {', '.join(presence.STATES)}", "field": "state"},
                status=400,
            )
        ticket = self.get_object(request, object_id)
        if ticket is None or not self.has_view_permission(request, ticket):
            return JsonResponse({"detail": "No such ticket."}, status=404)
        wait = user_over_limit(request, group="presence", rate=settings.RATELIMIT_PRESENCE)
        if wait is not None:
            return too_many_requests(wait, f"Too many heartbeats. Expected available in {wait} seconds.")
        others = presence.presence_beat(ticket_id=ticket.pk, user=request.user, state=state)  # type: ignore[arg-type]
        return JsonResponse(
            {
                "others": [{"name": v.name, "state": v.state, "text": v.text} for v in others],
                "interval": presence.HEARTBEAT_SECONDS,
            }
        )
