"""Business-hours arithmetic over a BusinessCalendar, DST-correct in the calendar's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from escalation.oncall import localize

MAX_DAYS = 800  # a calendar with no open hour in two years is treated as never open


@dataclass(frozen=True)
class CalendarSpec:
    tz: zoneinfo.ZoneInfo
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()


def load(calendar: Any) -> CalendarSpec:
    if isinstance(calendar, CalendarSpec):
        return calendar
    hours: dict[int, list[tuple[time, time]]] = {}
    for row in calendar.hours.all():
        hours.setdefault(row.weekday, []).append((row.opens, row.closes))
    return CalendarSpec(
        tz=calendar.tz,
        hours={day: tuple(sorted(spans)) for day, spans in hours.items()},
        holidays=frozenset(calendar.holidays.values_list("date", flat=True)),
    )


def _intervals(spec: CalendarSpec, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals (UTC) ending after `start`, in order, for at most MAX_DAYS days."""
    day = start.astimezone(spec.tz).date() - timedelta(days=1)
    for _ in range(MAX_DAYS):
        if day not in spec.holidays:
            for opens, closes in spec.hours.get(day.weekday(), ()):
                lo = localize(datetime.combine(day, opens), spec.tz)
                hi = localize(datetime.combine(day, closes), spec.tz)
                if hi > start and hi > lo:
                    yield max(lo, start), hi
        day += timedelta(days=1)


def is_open(calendar: Any, when: datetime) -> bool:
    spec = load(calendar)
    when = when.astimezone(UTC)
    for lo, hi in _intervals(spec, when):
        return lo <= when < hi
    return False


def add_business_minutes(calendar: Any, start: datetime, minutes: float) -> datetime | None:
    """The instant `minutes` of open time after `start`; None if the calendar is never open."""
    spec = load(calendar)
    remaining = timedelta(minutes=minutes)
    start = start.astimezone(UTC)
    if remaining <= timedelta(0):
        return start
    for lo, hi in _intervals(spec, start):
        if hi - lo >= remaining:
            return lo + remaining
        remaining -= hi - lo
    return None


def business_minutes_between(calendar: Any, start: datetime, end: datetime) -> float:
    """Open minutes in [start, end)."""
    spec = load(calendar)
    total = timedelta(0)
    if end <= start:
        return 0.0
    for lo, hi in _intervals(spec, start.astimezone(UTC)):
        if lo >= end:
            break
        total += min(hi, end) - lo
    return total.total_seconds() / 60
