"""Schedule health as Prometheus gauges, computed when /metrics is scraped (cached 5 minutes).

Computed in the process that serves /metrics (the web process), so the numbers are there
whichever process ran the daily health check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)
CACHE_SECONDS = 300


class ScheduleHealthCollector:
    def __init__(self) -> None:
        # (time.monotonic() when computed, rows); None until the first scrape. Not (0.0, []):
        # the monotonic clock counts from boot, so for the first CACHE_SECONDS after a boot
        # such a stamp would pass as fresh and every scrape would report no schedules.
        self._cached: tuple[float, list[tuple[str, int, int]]] | None = None

    def forget(self) -> None:
        """Compute the gauges afresh at the next scrape."""
        self._cached = None

    def _rows(self) -> list[tuple[str, int, int]]:
        if self._cached is not None and time.monotonic() - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        from escalation import selectors

        rows = [(r.schedule.name, len(r.gaps), len(r.unreachable)) for r in selectors.schedules_health()]
        self._cached = (time.monotonic(), rows)
        return rows

    def collect(self) -> Iterator[Any]:
        gaps = GaugeMetricFamily(
            "supporthub_oncall_schedule_gaps", "Gaps in the next 14 days, per schedule.", labels=["schedule"]
        )
        unreachable = GaugeMetricFamily(
            "supporthub_oncall_unreachable",
            "People on call now or within ONCALL_REACHABILITY_LEAD_HOURS with no contact method "
            "verified or delivering a page in 30 days, per schedule.",
            labels=["schedule"],
        )
        try:
            rows = self._rows()
        except Exception:  # a scrape must never fail because the database is down
            logger.warning("schedule health metrics unavailable", exc_info=True)
            rows = []
        for name, gap_count, unreachable_count in rows:
            gaps.add_metric([name], gap_count)
            unreachable.add_metric([name], unreachable_count)
        yield gaps
        yield unreachable

    def describe(self) -> Iterator[Any]:
        return iter(())  # no collection at registration time (no database access at import)


COLLECTOR = ScheduleHealthCollector()
