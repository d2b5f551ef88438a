"""The ticket list keeps itself current: live_list.js polls `live/` with the list's own query
string and a watermark, and puts what changed into the page (tickets.live)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets import live

POLL_SECONDS = 5
LIVE_URL_NAME = "tickets_ticket_live"
SINCE = "since"


class LiveChangeList(ChangeList):
    """The list's filters, search and order, without reading a page or counting rows."""

    def get_results(self, request: HttpRequest) -> None:
        self.result_list: list[Any] = []
        self.formset = None


class LiveListAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["tickets/live.css"]}
        js = ["tickets/live_list.js"]

    def get_urls(self) -> list[Any]:
        live_view = self.admin_site.admin_view(self.live_list_view)
        return [path("live/", live_view, name=LIVE_URL_NAME), *super().get_urls()]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        match = request.resolver_match
        if match is not None and match.url_name == LIVE_URL_NAME:
            return LiveChangeList
        return super().get_changelist(request, **kwargs)

    def live_list_view(self, request: HttpRequest) -> JsonResponse:
        """GET with the list's query string plus `since` (an ISO 8601 time from the last
        answer's `cursor`; none on the first call): {cursor, interval, changed: [{id,
        updated_at}], removed: [ids], truncated, rows: the changed rows' HTML}."""
        if request.method != "GET":
            return JsonResponse({"detail": "Use GET."}, status=405)
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = request.GET.copy()
        raw_since = query.pop(SINCE, [""])[-1]
        try:
            since = parse_datetime(raw_since) if raw_since else None
        except ValueError:  # well formed, but no such time (month 13)
            since = None
        if raw_since and since is None:
            return _bad_request(SINCE, "not an ISO 8601 date-time (use the last answer's cursor)")
        if since is not None and timezone.is_naive(since):
            since = timezone.make_aware(since, dt.UTC)
        cursor = timezone.now()
        answer: dict[str, Any] = {"cursor": cursor.isoformat(), "interval": POLL_SECONDS}
        if since is None:
            return JsonResponse({**answer, "changed": [], "removed": [], "truncated": False, "rows": ""})
        request.GET = query  # type: ignore[assignment]  # the list's own parameters, for ChangeList
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            return _bad_request("filters", f"the list's filters are not valid ({exc})")
        changes = live.ticket_list_changes(
            listed=changelist.queryset, everything=changelist.root_queryset, since=since
        )
        changelist.result_list = changes.changed
        rows = render_to_string(
            "admin/tickets/ticket/live_rows.html", {"cl": changelist, "opts": changelist.opts}, request
        )
        return JsonResponse(
            {
                **answer,
                "changed": [{"id": t.pk, "updated_at": t.updated_at.isoformat()} for t in changes.changed],
                "removed": changes.removed,
                "truncated": changes.truncated,
                "rows": rows,
            }
        )


def _bad_request(field: str, problem: str) -> JsonResponse:
    return JsonResponse({"detail": f"{field}: {problem}", "field": field}, status=400)
