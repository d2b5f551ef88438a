"""The console's front page: what needs attention right now, across every app."""

from typing import Any

from django.urls import reverse
from django.utils import timezone

from escalation.models import Incident, Schedule
from escalation.oncall import OnCall
from escalation.selectors import ScheduleHealth, oncall_now_table, schedules_health
from notifications.models import Delivery
from tickets.selectors import console_summary


def dashboard_summary() -> dict[str, Any]:
    """Ticket counts plus open incidents, failed deliveries and who is on call now."""
    summary = console_summary()
    open_incidents = Incident.objects.open().count()
    failed = Delivery.objects.dead_letters().count()
    summary["extra_rows"] = [
        {
            "label": "Open incidents",
            "value": open_incidents,
            "url": reverse("admin:escalation_incident_changelist"),
            "css": "sla-breached" if open_incidents else "",
        },
        {
            "label": "Failed deliveries",
            "value": failed,
            "url": reverse("admin:notifications_delivery_changelist") + "?status__exact=failed",
            "css": "sla-breached" if failed else "",
        },
    ]
    now = timezone.now()
    table = oncall_now_table(now)
    healths = schedules_health([schedule for schedule, _ in table], now)
    summary["oncall"] = [
        _oncall_row(schedule, oncall, health)
        for (schedule, oncall), health in zip(table, healths, strict=True)
    ]
    return summary


def _oncall_row(schedule: Schedule, oncall: OnCall, health: ScheduleHealth) -> dict[str, Any]:
    """Who is on call on one schedule, flagged when nobody is or they are not shown reachable,
    with the schedule's health problems (gaps ahead, empty layers, unreachable people)."""
    unreachable = oncall.user_id in {user.pk for user in health.unreachable}
    return {
        "schedule": schedule,
        "who": oncall.user or "nobody (gap)",
        "until": schedule.local(oncall.until) if oncall.until else "",
        "css": "sla-breached" if oncall.is_gap or unreachable else "",
        "unreachable": unreachable,
        "problems": "" if health.ok else health.summary(),
    }
