"""The console's front page: what needs attention right now, across every app."""

from typing import Any

from django.urls import reverse
from django.utils import timezone

from escalation.models import Incident
from escalation.selectors import oncall_now_table
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
    summary["oncall"] = [
        {
            "schedule": schedule,
            "who": oncall.user or "nobody (gap)",
            "until": schedule.local(oncall.until) if oncall.until else "",
            "css": "sla-breached" if oncall.is_gap else "",
        }
        for schedule, oncall in oncall_now_table(timezone.now())
    ]
    return summary
