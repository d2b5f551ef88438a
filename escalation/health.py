"""Schedule health: a daily warning to the team by email and Slack about gaps and empty layers.

People who may not be reachable are warned about before each of their shifts instead
(`escalation.reachability`)."""

from __future__ import annotations

import logging

from django.utils import timezone

from escalation import selectors
from notifications import builders

logger = logging.getLogger(__name__)


def schedule_health_report() -> int:
    """Warn the team about schedules with gaps or empty layers (once per day each); returns how many.

    The gauges are in escalation.metrics (computed when /metrics is scraped).
    """
    unhealthy = 0
    today = timezone.now().date().isoformat()
    for report in selectors.schedules_health():
        if report.rota_ok:
            continue
        unhealthy += 1
        summary = report.summary(people=False)
        text = f"[SupportHub] On-call schedule {report.schedule.name} needs attention: {summary}"
        builders.team_notice(text=text, key=f"schedule-health:{report.schedule.pk}:{today}")
    return unhealthy
