"""Schedule health: a daily warning to the team and a Prometheus gauge."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from prometheus_client import Gauge

from escalation import paging, selectors

logger = logging.getLogger(__name__)

SCHEDULE_GAPS = Gauge(
    "supporthub_oncall_schedule_gaps", "Gaps in the next 14 days, per schedule.", ["schedule"]
)
UNREACHABLE = Gauge(
    "supporthub_oncall_unreachable_participants",
    "Schedule participants with no contact method, per schedule.",
    ["schedule"],
)


def schedule_health_report() -> int:
    """Update the gauges and warn the team (once per day per schedule); returns unhealthy count."""
    unhealthy = 0
    today = timezone.now().date().isoformat()
    for report in selectors.schedules_health():
        SCHEDULE_GAPS.labels(report.schedule.name).set(len(report.gaps))
        UNREACHABLE.labels(report.schedule.name).set(len(report.unreachable))
        if report.ok:
            continue
        unhealthy += 1
        text = f"[SupportHub] On-call schedule {report.schedule.name} needs attention: {report.summary()}"
        targets = [("slack", settings.SLACK_CHANNEL or "#support")]
        if settings.SUPPORT_TEAM_EMAIL:
            targets.append(("email", settings.SUPPORT_TEAM_EMAIL))
        for channel, recipient in targets:
            try:
                paging.notify(
                    channel=channel,
                    recipient=recipient,
                    body=text,
                    subject=text,
                    idempotency_key=f"schedule-health:{report.schedule.pk}:{today}:{channel}",
                )
            except Exception:
                logger.exception("schedule health warning by %s failed", channel)
    return unhealthy
