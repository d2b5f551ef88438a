"""Agent console for on-call: schedules with a shift preview and health, policies, incidents."""

from __future__ import annotations

import dataclasses
import itertools
import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from escalation import oncall, pager, reachability, selectors, services, timeline
from escalation.models import (
    BusinessCalendar,
    BusinessHours,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Holiday,
    Incident,
    IncidentEvent,
    IncidentPage,
    IncidentStatus,
    LayerParticipant,
    NotificationRule,
    Override,
    RotationLayer,
    Schedule,
    validate_time_zone,
)
from supporthub.admin import SharedChoicesTabularInline
from supporthub.exceptions import DomainError

PREVIEW_DAYS = 14


def _on_clock(zone: zoneinfo.ZoneInfo, view: Any) -> HttpResponse:
    """Run an admin view with its date-time fields (and the "Now" shortcuts) on `zone`'s clock."""
    with timezone.override(zone):
        response: HttpResponse = view()
        if isinstance(response, TemplateResponse):
            response.render()  # widgets convert times to the current zone while rendering
    return response


def _zone_label(schedule: Schedule | None) -> str:
    """How a form names the zone its times are in."""
    return schedule.time_zone if schedule is not None else "the schedule's time zone"


class RotationLayerInline(admin.TabularInline):
    model = RotationLayer
    extra = 0
    show_change_link = True
    fields = [
        "level",
        "name",
        "shift_length",
        "shift_unit",
        "handoff_time",
        "handoff_weekday",
        "start_date",
        "end_date",
        "people",
    ]
    readonly_fields = ["people"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RotationLayer]:
        return super().get_queryset(request).prefetch_related("participants__user")

    @admin.display(description="Participants (edit the layer to change)")
    def people(self, layer: RotationLayer) -> str:
        return ", ".join(str(p.user) for p in layer.participants.all()) or "— nobody —"

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        labels = {"handoff_time": f"Handoff time ({_zone_label(obj)})"}
        return super().get_formset(request, obj, labels=labels, **kwargs)


class OverrideFormSet(BaseInlineFormSet):
    """Overrides of one schedule must not overlap each other (also among unsaved rows)."""

    def clean(self) -> None:
        super().clean()
        spans = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("start") or not data.get("end"):
                continue
            spans.append((data["start"], data["end"], form))
        spans.sort(key=lambda span: span[0])
        for (_, end, _), (start, _, form) in itertools.pairwise(spans):
            if start < end:
                form.add_error("start", "Overlaps another override of this schedule.")


class OverrideInline(SharedChoicesTabularInline):
    """Start and end are entered and shown on the schedule's clock (ScheduleAdmin.changeform_view)."""

    model = Override
    formset = OverrideFormSet
    extra = 0
    fields = ["user", "start", "end", "reason"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        zone = _zone_label(obj)
        labels = {"start": f"Start ({zone})", "end": f"End ({zone})"}
        return super().get_formset(request, obj, labels=labels, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Override]:
        # Each row is titled by its user and times on the schedule's clock (Override.__str__).
        return super().get_queryset(request).select_related("user", "schedule")


class LayerParticipantInline(SharedChoicesTabularInline):
    model = LayerParticipant
    extra = 1
    min_num = 1
    fields = ["position", "user"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # A rotation with nobody in it covers nothing: refuse to save it, with the reason.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ScheduleChangeList(ChangeList):
    """The schedule list: who is on call and the health of every row on the page, worked out
    together in a fixed number of queries."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        now = timezone.now()
        schedules = list(self.result_list)
        specs = oncall.load_many(schedules, overrides_from=now)
        for schedule, health in zip(schedules, selectors.schedules_health(schedules, now), strict=True):
            schedule.listed_oncall = oncall.oncall_at(specs[schedule.pk], now)
            schedule.listed_health = health


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "oncall_now", "health"]
    search_fields = ["name"]
    inlines = [RotationLayerInline, OverrideInline]
    readonly_fields = ["oncall_now", "health", "shift_preview", "feed_url"]
    fields = ["name", "description", "time_zone", "oncall_now", "health", "feed_url", "shift_preview"]
    actions = ["rotate_feed_token"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ScheduleChangeList

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The page, its date-time fields and the admin's "Now" shortcuts run on the schedule's
        clock, whatever the server's or the browser's time zone."""
        view = super().changeform_view
        return _on_clock(
            self._zone(request, object_id), lambda: view(request, object_id, form_url, extra_context)
        )

    def _zone(self, request: HttpRequest, object_id: str | None) -> zoneinfo.ZoneInfo:
        """The zone the form shows: the saved schedule's; for a new one, the zone being entered."""
        schedule = self.get_object(request, object_id) if object_id else None
        name = schedule.time_zone if schedule is not None else request.POST.get("time_zone", "UTC")
        try:
            validate_time_zone(name)
        except ValidationError:
            name = "UTC"  # the form itself reports the bad zone
        return zoneinfo.ZoneInfo(name)

    @admin.display(description="On call now")
    def oncall_now(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "-"
        who = getattr(schedule, "listed_oncall", None) or oncall.oncall_at(schedule, timezone.now())
        return "Nobody (gap)" if who.is_gap else f"{who.user} ({who.source})"

    @admin.display(description=f"Health (next {PREVIEW_DAYS} days)")
    def health(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "-"
        return (getattr(schedule, "listed_health", None) or selectors.schedule_health(schedule)).summary()

    @admin.display(description="iCal feed")
    def feed_url(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "-"
        url = reverse("schedule-ics", kwargs={"pk": schedule.pk}) + f"?token={schedule.feed_token}"
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.action(description="Rotate the iCal feed token (the old feed URL stops working at once)")
    def rotate_feed_token(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        count = services.schedule_feed_token_rotate(schedule_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"New feed token for {count} schedule(s); share the new feed URL.")

    @admin.display(description=f"Shifts, next {PREVIEW_DAYS} days")
    def shift_preview(self, schedule: Schedule) -> str:
        if not schedule.pk:
            return "Save first to see the shifts."
        start = timezone.now()
        rows = [
            (
                schedule.local(shift.start, zone_name=False),
                schedule.local(shift.end, zone_name=False),
                "NOBODY (gap)" if shift.is_gap else str(shift.user),
                shift.source,
            )
            for shift in oncall.shifts(schedule, start, start + timedelta(days=PREVIEW_DAYS))
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>From ({})</th><th>To ({})</th><th>Who</th><th>Source</th></tr>{}</table>",
            schedule.time_zone,
            schedule.time_zone,
            body,
        )

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "oncall-now/", self.admin_site.admin_view(self.oncall_now_view), name="escalation_oncall_now"
            ),
            path(
                "<path:object_id>/timeline/",
                self.admin_site.admin_view(self.timeline_view),
                name="escalation_schedule_timeline",
            ),
            path(
                "<path:object_id>/take/",
                self.admin_site.admin_view(self.take_view),
                name="escalation_schedule_take",
            ),
        ]
        return extra + super().get_urls()

    def take_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Take the pager" button: the signed-in person goes on call until the next handover."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        schedule = self.get_object(request, object_id)
        if schedule is None or not self.has_view_permission(request, schedule):
            raise Http404("No such schedule.")
        try:
            taken = pager.pager_take(schedule=schedule, user=request.user, via="admin")
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            until = schedule.local(taken.override.end)
            self.message_user(request, f"You are on call for {schedule} until {until}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:escalation_schedule_change", args=[schedule.pk]))

    def timeline_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Layers, overrides and the final schedule as bars, over a week, two weeks or a month."""
        schedule = self.get_object(request, object_id)
        if schedule is None or not self.has_view_permission(request, schedule):
            raise Http404("No such schedule.")
        span = request.GET.get("range", "week")
        if span not in timeline.RANGES:
            return HttpResponseBadRequest(f"range must be one of {', '.join(timeline.RANGES)}.")
        try:
            first = date.fromisoformat(request.GET["start"]) if "start" in request.GET else None
        except ValueError:
            return HttpResponseBadRequest("start must be a date, YYYY-MM-DD.")
        first, after, previous = timeline.range_bounds(
            first or timezone.now().astimezone(schedule.tz).date(), span
        )
        drawn = timeline.timeline(schedule, first, after)
        if request.user.has_perm("escalation.add_override"):
            drawn = _with_cover_links(drawn, schedule)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Timeline of {schedule}",
            "schedule": schedule,
            "opts": self.model._meta,
            "timeline": drawn,
            "span": span,
            "ranges": timeline.RANGES.items(),
            "previous": previous,
            "next": after,
            "last_day": after - timedelta(days=1),
        }
        return TemplateResponse(request, "admin/escalation/schedule/timeline.html", context)

    def oncall_now_view(self, request: HttpRequest) -> HttpResponse:
        """Who is on call now on every schedule, with health."""
        now = timezone.now()
        table = selectors.oncall_now_table(now)
        healths = selectors.schedules_health([schedule for schedule, _ in table], now)
        rows = [
            {
                "schedule": schedule,
                "who": who,
                "until": schedule.local(who.until) if who.until else "",
                "health": health,
            }
            for (schedule, who), health in zip(table, healths, strict=True)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Who is on call now",
            "rows": rows,
            "now": now,
        }
        return TemplateResponse(request, "admin/escalation/schedule/oncall_now.html", context)


def _with_cover_links(drawn: timeline.Timeline, schedule: Schedule) -> timeline.Timeline:
    """The final schedule's bars link to the override form, prefilled to cover that shift."""
    add = reverse("admin:escalation_override_add")
    rows = []
    for row in drawn.rows:
        if row.kind == "final":
            bars = [
                dataclasses.replace(
                    bar,
                    cover_url=f"{add}?"
                    + urlencode(
                        {
                            "schedule": schedule.pk,
                            "start": bar.shift.start.isoformat(),
                            "end": bar.shift.end.isoformat(),
                        }
                    ),
                    title=f"{bar.title}. Click to cover this shift.",
                )
                for bar in row.bars
            ]
            row = dataclasses.replace(row, bars=bars)
        rows.append(row)
    return dataclasses.replace(drawn, rows=rows)


PREVIEW = "_preview"


class PreviewBeforeSaving(admin.ModelAdmin):
    """A "Preview" button: the form is checked, then the schedule's next PREVIEW_DAYS days are
    drawn as if it were saved (inside a savepoint that is rolled back), and the form is shown
    again, unsaved. The object's `schedule` names the schedule drawn."""

    change_form_template = "admin/escalation/preview_change_form.html"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if PREVIEW not in request.POST:
            return form

        class PreviewOnly(form):  # type: ignore[valid-type,misc]
            def clean(self) -> Any:
                data = super().clean()
                self.add_error(None, ValidationError("Preview only.", code="preview"))  # keeps it unsaved
                return data

        return PreviewOnly

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        form = context["adminform"].form
        formsets = [inline.formset for inline in context["inline_admin_formsets"]]
        if PREVIEW in request.POST and form.has_error(NON_FIELD_ERRORS, "preview"):
            others = [e for e in form.errors.as_data()[NON_FIELD_ERRORS] if e.code != "preview"]
            if others:
                form.errors[NON_FIELD_ERRORS] = form.error_class([m for e in others for m in e.messages])
            else:
                del form.errors[NON_FIELD_ERRORS]
            context["errors"] = helpers.AdminErrorList(form, formsets)
            if not form.errors and all(formset.is_valid() for formset in formsets):
                context["preview_schedule"], context["preview"] = self._preview(form, formsets)
        return super().render_change_form(request, context, *args, **kwargs)

    @staticmethod
    def _preview(form: Any, formsets: list[Any]) -> tuple[Schedule, timeline.Timeline]:
        obj = form.instance
        adding = obj.pk is None
        with transaction.atomic():
            obj.save()
            for formset in formsets:
                formset.instance = obj
                formset.save()
            schedule = Schedule.objects.get(pk=obj.schedule_id)
            first = timezone.now().astimezone(schedule.tz).date()
            drawn = timeline.timeline(schedule, first, first + timedelta(days=PREVIEW_DAYS))
            transaction.set_rollback(True)
        if adding:
            obj.pk = None
            obj._state.adding = True
        return schedule, drawn


@admin.register(Override)
class OverrideAdmin(PreviewBeforeSaving):
    """Overrides one at a time: "cover this shift" on the timeline opens the add form with the
    schedule, start and end filled in (`?schedule=<id>&start=<ISO>&end=<ISO>`). Times are entered
    and shown on the schedule's clock."""

    list_display = ["__str__", "schedule", "reason"]
    list_filter = ["schedule"]
    list_select_related = ["schedule", "user"]
    fields = ["schedule", "user", "start", "end", "reason"]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        schedule = self._schedule(request, self.get_object(request, object_id) if object_id else None)
        view = super().changeform_view
        zone = schedule.tz if schedule is not None else zoneinfo.ZoneInfo("UTC")
        try:
            self._prefilled(request)
        except ValueError as exc:
            return HttpResponseBadRequest(str(exc))
        return _on_clock(zone, lambda: view(request, object_id, form_url, extra_context))

    @staticmethod
    def _prefilled(request: HttpRequest) -> dict[str, datetime]:
        """The start and end given in the query string (aware ISO 8601 instants)."""
        instants = {}
        for name in ("start", "end"):
            if name in request.GET:
                try:
                    when: datetime | None = datetime.fromisoformat(request.GET[name])
                except ValueError:
                    when = None
                if when is None or when.tzinfo is None:
                    raise ValueError(f"{name} must be an ISO 8601 date-time with its UTC offset.")
                instants[name] = when
        return instants

    def _schedule(self, request: HttpRequest, obj: Override | None) -> Schedule | None:
        """The override's schedule, or the one being entered (POST) or prefilled (GET)."""
        if obj is not None:
            return obj.schedule
        schedule_id = request.POST.get("schedule", request.GET.get("schedule", ""))
        return Schedule.objects.filter(pk=schedule_id).first() if schedule_id.isdigit() else None

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        zone = _zone_label(self._schedule(request, obj))
        labels = {"start": f"Start ({zone})", "end": f"End ({zone})"}
        return super().get_form(request, obj, change, labels=labels, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().get_changeform_initial_data(request), **self._prefilled(request)}

    def response_add(
        self, request: HttpRequest, obj: Override, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or "_continue" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request, f"{obj.user} covers {obj.schedule.local(obj.start)} to {obj.schedule.local(obj.end)}."
        )
        first = obj.start.astimezone(obj.schedule.tz).date().isoformat()
        url = reverse("admin:escalation_schedule_timeline", args=[obj.schedule_id])
        return HttpResponseRedirect(f"{url}?start={first}")


@admin.register(RotationLayer)
class RotationLayerAdmin(PreviewBeforeSaving):
    list_display = [
        "__str__",
        "schedule",
        "level",
        "shift_length",
        "shift_unit",
        "handoff_time",
        "start_date",
    ]
    list_filter = ["schedule"]
    inlines = [LayerParticipantInline]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        zone = _zone_label(obj.schedule if obj is not None else None)
        labels = {"handoff_time": f"Handoff time ({zone})"}
        return super().get_form(request, obj, change, labels=labels, **kwargs)


class NotificationRuleInline(admin.TabularInline):
    model = NotificationRule
    extra = 0
    fields = ["user", "delay_minutes"]


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "kind",
        "address",
        "label",
        "handoff_notice_minutes",
        "verified_at",
        "test_sent_at",
    ]
    list_filter = ["kind"]
    search_fields = ["user__username", "address"]
    readonly_fields = ["verified_at", "test_sent_at"]
    inlines = [NotificationRuleInline]
    actions = ["send_test_page"]

    # Every staff member sees (only) their own methods, to send themselves test pages;
    # the model's permissions are needed for everyone's.
    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactMethod]:
        queryset = super().get_queryset(request)
        return queryset if super().has_view_permission(request) else queryset.filter(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        own = obj is None or obj.user_id == request.user.pk
        return super().has_view_permission(request, obj) or (request.user.is_staff and own)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or request.user.is_staff

    @admin.action(description="Send a test page (its owner answers it to verify the method)")
    def send_test_page(self, request: HttpRequest, queryset: QuerySet[ContactMethod]) -> None:
        sent, refused = 0, []
        for method in queryset:
            try:
                reachability.contact_method_test_page(method=method)
                sent += 1
            except DomainError as exc:
                refused.append(f"{method} ({exc.message})")
        self.message_user(request, f"Sent {sent} test page(s).", messages.SUCCESS if sent else messages.INFO)
        if refused:
            self.message_user(request, "Not sent: " + "; ".join(refused), messages.WARNING)


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["user", "method", "delay_minutes"]
    list_select_related = ["user", "method"]


class EscalationStepInline(SharedChoicesTabularInline):
    model = EscalationStep
    extra = 0
    fields = [
        "position",
        "kind",
        "schedule",
        "user",
        "slack_channel",
        "email",
        "wait_minutes",
        "condition",
        "calendar",
    ]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "repeat_count",
        "ack_timeout_minutes",
        "on_urgent_ticket",
        "on_sla_breach",
        "on_missed_call",
    ]
    inlines = [EscalationStepInline]
    readonly_fields = ["timing"]

    class Media:
        css = {"all": ["escalation/policy.css"]}

    @admin.display(description="Timing of an incident opened now that nobody acknowledges")
    def timing(self, policy: EscalationPolicy) -> str:
        if not policy.pk:
            return "Save first to see the timing."
        start = timezone.now()
        timings, exhausted = selectors.policy_timing(policy, start)
        zone = timezone.get_current_timezone()
        rows = [
            (
                "" if timing.reached else "not-reached",
                f"+{(timing.at - start).total_seconds() / 60:g} min",
                timing.at.astimezone(zone).strftime("%H:%M %Z"),
                timing.round + 1,
                timing.position,
                timing.kind,
                timing.reaches,
                f"{timing.wait_minutes} min" if timing.wait_minutes else "none (next at once)",
            )
            for timing in timings
        ]
        body = format_html_join(
            "",
            '<tr class="{}">' + "<td>{}</td>" * 7 + "</tr>",
            rows,
        )
        return format_html(
            '<table id="policy-timing"><tr><th>Fires</th><th>At</th><th>Round</th><th>Step</th><th>Does</th>'
            "<th>Reaches</th><th>Then waits</th></tr>{}</table>"
            '<p id="policy-exhausted">Exhausted (the team is told) at +{} min, {}.</p>',
            body,
            f"{(exhausted - start).total_seconds() / 60:g}",
            exhausted.astimezone(zone).strftime("%H:%M %Z"),
        )


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    inlines = [BusinessHoursInline, HolidayInline]


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "message", "actor", "via"]
    readonly_fields = ["created_at", "kind", "message", "actor", "via"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentEvent]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IncidentPageInline(admin.TabularInline):
    model = IncidentPage
    extra = 0
    can_delete = False
    fields = ["send_at", "channel", "recipient", "user", "status", "delivery", "error", "call_outcome"]
    readonly_fields = [
        "send_at", "channel", "recipient", "user", "status", "delivery", "error", "call_outcome",
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentPage]:
        return super().get_queryset(request).select_related("user", "delivery")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "status",
        "reason",
        "ticket",
        "current_step",
        "next_step_at",
        "acknowledged_by",
        "created_at",
    ]
    list_filter = ["status", "reason", "policy"]
    search_fields = ["title", "ticket__reference"]
    list_select_related = ["ticket", "acknowledged_by"]
    raw_id_fields = ["ticket"]
    readonly_fields = [
        "status", "reason", "policy", "current_step", "current_round", "next_step_at", "exhausted_at",
        "acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "created_at", "steps_snapshot",
    ]  # fmt: skip
    fields = ["title", "ticket", *readonly_fields]
    inlines = [IncidentEventInline, IncidentPageInline]
    actions = ["acknowledge_selected", "resolve_selected"]
    change_form_template = "admin/escalation/incident/change_form.html"

    @admin.display(description="Policy steps (as when opened)")
    def steps_snapshot(self, incident: Incident) -> str:
        rows = [
            (i + 1, step.get("kind"), step.get("wait_minutes"), step.get("condition"))
            for i, step in enumerate(incident.steps)
        ]
        return format_html_join(mark_safe("<br>"), "{}. {} then wait {} min ({})", rows)

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        incident = services.incident_trigger(
            ticket=obj.ticket,
            title=obj.title,
            reason="manual",
            actor=request.user,  # type: ignore[arg-type]
        )
        if incident is None:
            raise DomainError("No escalation policy exists.")
        obj.pk = incident.pk

    def response_change(self, request: HttpRequest, obj: Incident) -> HttpResponse:
        for name, verb in (
            ("_acknowledge", services.incident_acknowledge),
            ("_resolve", services.incident_resolve),
        ):
            if name in request.POST:
                try:
                    verb(incident=obj, user=request.user, via="admin")  # type: ignore[arg-type]
                    self.message_user(request, f"Incident {obj.pk}: {name[1:]}d.", messages.SUCCESS)
                except DomainError as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        obj = kwargs.get("obj")
        context["incident_open"] = obj is not None and obj.status != IncidentStatus.RESOLVED
        context["incident_triggered"] = obj is not None and obj.status == IncidentStatus.TRIGGERED
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset.filter(status=IncidentStatus.TRIGGERED):
            services.incident_acknowledge(incident=incident, user=request.user, via="admin")  # type: ignore[arg-type]
            done += 1
        self.message_user(request, f"Acknowledged {done} incident(s).")

    @admin.action(description="Resolve selected incidents")
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        done = 0
        for incident in queryset.exclude(status=IncidentStatus.RESOLVED):
            services.incident_resolve(incident=incident, user=request.user, via="admin")  # type: ignore[arg-type]
            done += 1
        self.message_user(request, f"Resolved {done} incident(s).")
