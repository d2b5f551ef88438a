"""Schedule health: a daily warning to the team by email and Slack."""

from __future__ import annotations

import logging

from django.utils import timezone

from escalation import selectors
from notifications import builders

logger = logging.getLogger(__name__)


def schedule_health_report() -> int:
    """Warn the team about unhealthy schedules (once per day each); returns how many are unhealthy.

    The gauges are in escalation.metrics (computed when /metrics is scraped).
    """
    unhealthy = 0
    today = timezone.now().date().isoformat()
    for report in selectors.schedules_health():
        if report.ok:
            continue
        unhealthy += 1
        text = f"[SupportHub] On-call schedule {report.schedule.name} needs attention: {report.summary()}"
        builders.team_notice(text=text, key=f"schedule-health:{report.schedule.pk}:{today}")
    return unhealthy
