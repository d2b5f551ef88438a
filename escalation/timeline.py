"""A schedule's timeline: rows of shift bars (one per layer, overrides, the final schedule) over
whole local days, positioned by elapsed time so a 23- or 25-hour DST day is narrower or wider.

Every bar comes from `escalation.oncall.shifts`; this module only lays them out.
"""

from __future__ import annotations

import calendar
import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from escalation import oncall

RANGES = {"week": "1 week", "2weeks": "2 weeks", "month": "Month"}


@dataclass(frozen=True)
class Bar:
    shift: oncall.Shift
    left: float  # percent of the range
    width: float
    label: str
    title: str
    cover_url: str = ""  # set by the view: a link to cover this shift with an override

    @property
    def is_gap(self) -> bool:
        return self.shift.is_gap


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # layer | overrides | final
    bars: list[Bar]


@dataclass(frozen=True)
class Day:
    day: date
    left: float
    width: float
    hours: float

    @property
    def dst_change(self) -> bool:
        return self.hours != 24


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    first_day: date
    days: list[Day]
    rows: list[Row]


def range_bounds(first: date, span: str) -> tuple[date, date, date]:
    """(first day, day after the last, first day of the previous range) for a range name."""
    if span == "month":
        first = first.replace(day=1)
        after = first + timedelta(days=calendar.monthrange(first.year, first.month)[1])
        before = first - timedelta(days=1)
        return first, after, before.replace(day=1)
    length = timedelta(days=7 if span == "week" else 14)
    return first, first + length, first - length


def _fmt(when: datetime, spec: oncall.ScheduleSpec) -> str:
    return when.astimezone(spec.tz).strftime("%a %d %b %H:%M %Z")


def _bars(shifts: list[oncall.Shift], spec: oncall.ScheduleSpec, start: datetime, end: datetime) -> list[Bar]:
    total = (end - start).total_seconds()
    bars = []
    for shift in shifts:
        name = "Nobody (gap)" if shift.is_gap else str(shift.user or f"user {shift.user_id}")
        hours = (shift.end - shift.start).total_seconds() / 3600
        title = f"{name}: {_fmt(shift.start, spec)} to {_fmt(shift.end, spec)} ({hours:g} h, {shift.source})"
        left = (shift.start - start).total_seconds() / total * 100
        width = (shift.end - shift.start).total_seconds() / total * 100
        bars.append(Bar(shift=shift, left=round(left, 4), width=round(width, 4), label=name, title=title))
    return bars


def timeline(schedule: Any, first: date, after: date) -> Timeline:
    """The timeline of a Schedule (or ScheduleSpec) over the local days [first, after)."""
    start = oncall.localize(datetime.combine(first, time()), schedule.tz)
    end = oncall.localize(datetime.combine(after, time()), schedule.tz)
    spec = (
        schedule if isinstance(schedule, oncall.ScheduleSpec) else oncall.load(schedule, overrides_from=start)
    )
    total = (end - start).total_seconds()
    days = []
    day = first
    while day < after:
        day_start = oncall.localize(datetime.combine(day, time()), spec.tz)
        day_end = oncall.localize(datetime.combine(day + timedelta(days=1), time()), spec.tz)
        seconds = (day_end - day_start).total_seconds()
        days.append(
            Day(day, (day_start - start).total_seconds() / total * 100, seconds / total * 100, seconds / 3600)
        )
        day += timedelta(days=1)
    rows = []
    for layer in sorted(spec.layers, key=lambda la: -la.level):
        alone = dataclasses.replace(spec, layers=(layer,), overrides=())
        covered = [s for s in oncall.shifts(alone, start, end, split_handoffs=True) if not s.is_gap]
        rows.append(Row(layer.name or f"Level {layer.level}", "layer", _bars(covered, spec, start, end)))
    only_overrides = dataclasses.replace(spec, layers=())
    overrides = [s for s in oncall.shifts(only_overrides, start, end) if not s.is_gap]
    rows.append(Row("Overrides", "overrides", _bars(overrides, spec, start, end)))
    final = oncall.shifts(spec, start, end, split_handoffs=True)
    rows.append(Row("Final schedule", "final", _bars(final, spec, start, end)))
    return Timeline(start=start, end=end, first_day=first, days=days, rows=rows)
