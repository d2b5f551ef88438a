"""The support lead's reports: ticket volume, response times, SLA attainment, backlog, agents
and on-call load over a date range, with days and weeks in a chosen time zone.

Every figure is one aggregate query (ten in all, whatever the data), computed by the
database; medians and 90th percentiles are PostgreSQL's PERCENTILE_CONT (on SQLite, the
same function registered by `sqlite_percentile_register`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Aggregate, Count, DateField, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate, TruncWeek
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from escalation.models import Incident, IncidentPage
from tickets import sla
from tickets.models import SlaPolicy, Ticket, TicketChannel, TicketPriority

# A page sent from 22:00 to 07:00 in the report's time zone is a night page.
NIGHT_STARTS, NIGHT_ENDS = 22, 7
# Backlog ages: (label, lower bound); each bucket runs up to the next one's bound.
BACKLOG_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("under 1 day", timedelta(0)),
    ("1-3 days", timedelta(days=1)),
    ("3-7 days", timedelta(days=3)),
    ("1-4 weeks", timedelta(days=7)),
    ("over 4 weeks", timedelta(days=28)),
)


class Percentile(Aggregate):
    """The interpolated `fraction` percentile of a duration (PERCENTILE_CONT); None when no
    row has a value."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be within 0 and 1, not {fraction}")
        super().__init__(expression, fraction=repr(float(fraction)), output_field=DurationField(), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # On a copy rather than as a `template` argument: Aggregate.as_sql passes its own
        # `template` when the aggregate has a filter.
        sqlite = self.copy()
        sqlite.template = "%(function)s(%(expressions)s, %(fraction)s)"
        return sqlite.as_sql(compiler, connection, **extra)


class _SqlitePercentile:
    """PERCENTILE_CONT(value, fraction) for SQLite, which has no such aggregate."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        position = self.fraction * (len(ordered) - 1)  # interpolate between neighbours
        below = int(position)
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def sqlite_percentile_register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: gives SQLite connections PERCENTILE_CONT."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("PERCENTILE_CONT", 2, _SqlitePercentile)


def _elapsed(since: str, until: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(until) - F(since), output_field=DurationField())


@dataclass(frozen=True)
class Period:
    """Whole days `first` to `last` (both included) in `zone`."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone)

    @property
    def ends(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone)

    def within(self, name: str) -> Q:
        return Q(**{f"{name}__gte": self.starts, f"{name}__lt": self.ends})

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass
class Table:
    """One report: a title, column names and rows, as the page and the CSV export show it."""

    key: str
    title: str
    columns: Sequence[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def report_build(*, period: Period, now: datetime) -> dict[str, Table]:
    """Every table of the report page, keyed by `Table.key`, for `period`; the backlog is
    the one taken at `now`."""
    tables = [
        _volume(period),
        _response_times(period),
        _sla_attainment(period),
        _backlog(now),
        _agents(period),
        _oncall_pages(period),
        _acknowledgement(period),
    ]
    return {table.key: table for table in tables}


def _volume(period: Period) -> Table:
    """Tickets received (created) and solved (resolved_at) per day and channel."""
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for column, (name, _) in enumerate((("created_at", "received"), ("resolved_at", "solved"))):
        rows = (
            Ticket.objects.filter(period.within(name))
            .annotate(day=TruncDate(name, tzinfo=period.zone))
            .values("day", "channel")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            counts[(row["day"], row["channel"])][column] = row["n"]
    table = Table("volume", "Tickets received and solved per day", ["day", "channel", "received", "solved"])
    for day in period.days:
        for channel in TicketChannel.values:
            if (day, channel) in counts:
                table.rows.append((day, channel, *counts[(day, channel)]))
    return table


def _response_times(period: Period) -> Table:
    """First-response times of tickets first answered in the period, resolution times of
    tickets solved in it (from creation, calendar time)."""
    first = _elapsed("created_at", "first_responded_at")
    resolution = _elapsed("created_at", "resolved_at")
    answered, solved = period.within("first_responded_at"), period.within("resolved_at")
    figures = Ticket.objects.filter(answered | solved).aggregate(
        fr_n=Count("id", filter=answered),
        fr_median=Percentile(first, 0.5, filter=answered),
        fr_p90=Percentile(first, 0.9, filter=answered),
        res_n=Count("id", filter=solved),
        res_median=Percentile(resolution, 0.5, filter=solved),
        res_p90=Percentile(resolution, 0.9, filter=solved),
    )
    table = Table("response_times", "Response times", ["measure", "tickets", "median", "p90"])
    table.rows = [
        ("first response", figures["fr_n"], figures["fr_median"], figures["fr_p90"]),
        ("resolution", figures["res_n"], figures["res_median"], figures["res_p90"]),
    ]
    return table


def _sla_attainment(period: Period) -> Table:
    """Per SLA policy and clock, of the tickets received in the period whose clock has
    stopped: how many met it, how many breached it, and the share met."""
    aggregates: dict[str, Aggregate] = {}
    for clock in sla.Clock:
        met, breached = sla.sla_outcome(clock)
        aggregates[f"{clock.value}_met"] = Count("id", filter=met)
        aggregates[f"{clock.value}_breached"] = Count("id", filter=breached)
    by_priority: dict[int, dict[str, Any]] = {
        row["priority"]: dict(row)
        for row in Ticket.objects.filter(period.within("created_at"))
        .values("priority")
        .annotate(**aggregates)
        .order_by()
    }
    table = Table("sla", "SLA attainment per policy", ["policy", "clock", "met", "breached", "attainment %"])
    for policy in SlaPolicy.objects.order_by("-priority"):
        row = by_priority.get(policy.priority, {})
        for clock in sla.Clock:
            kept, missed = row.get(f"{clock.value}_met", 0), row.get(f"{clock.value}_breached", 0)
            share = round(100 * kept / (kept + missed), 1) if kept + missed else None
            table.rows.append((TicketPriority(policy.priority).label, clock.label, kept, missed, share))
    return table


def _backlog(now: datetime) -> Table:
    """Active tickets at `now` by how long ago they arrived."""
    newest = [now - lower for _, lower in BACKLOG_BUCKETS]
    buckets = {}
    for i, upper in enumerate(newest):
        arrived = Q(created_at__lte=upper)
        if i + 1 < len(newest):
            arrived &= Q(created_at__gt=newest[i + 1])
        buckets[f"bucket{i}"] = Count("id", filter=arrived)
    counts = Ticket.objects.active().aggregate(**buckets)
    table = Table("backlog", "Backlog by age", ["age", "tickets"])
    table.rows = [(label, counts[f"bucket{i}"]) for i, (label, _) in enumerate(BACKLOG_BUCKETS)]
    return table


def _person(prefix: str) -> list[str]:
    return [f"{prefix}__username", f"{prefix}__first_name", f"{prefix}__last_name"]


def _name(row: dict[str, Any], prefix: str) -> str:
    full = f"{row[f'{prefix}__first_name']} {row[f'{prefix}__last_name']}".strip()
    return full or row[f"{prefix}__username"]


def _agents(period: Period) -> Table:
    """Per assignee, of the tickets received in the period: how many, how many solved, and
    the median first-response time."""
    rows = (
        Ticket.objects.filter(period.within("created_at"), assignee__isnull=False)
        .values("assignee", *_person("assignee"))
        .annotate(
            handled=Count("id"),
            solved=Count("id", filter=Q(resolved_at__isnull=False)),
            median=Percentile(_elapsed("created_at", "first_responded_at"), 0.5),
        )
        .order_by("-handled", "assignee__username")
    )
    table = Table("agents", "Per agent", ["agent", "tickets handled", "solved", "median first response"])
    table.rows = [(_name(row, "assignee"), row["handled"], row["solved"], row["median"]) for row in rows]
    return table


def _oncall_pages(period: Period) -> Table:
    """Pages sent to each person per week (weeks start on Monday), and how many at night."""
    hour = ExtractHour("sent_at", tzinfo=period.zone)
    night = Q(GreaterThanOrEqual(hour, NIGHT_STARTS)) | Q(LessThan(hour, NIGHT_ENDS))
    rows = (
        IncidentPage.objects.filter(period.within("sent_at"), user__isnull=False)
        .annotate(week=TruncWeek("sent_at", tzinfo=period.zone, output_field=DateField()))
        .values("week", "user", *_person("user"))
        .annotate(pages=Count("id"), night=Count("id", filter=night))
        .order_by("week", "user__username")
    )
    table = Table("oncall", "On-call load", ["week of", "person", "pages", "night pages"])
    table.rows = [(row["week"], _name(row, "user"), row["pages"], row["night"]) for row in rows]
    return table


def _acknowledgement(period: Period) -> Table:
    """Time from an incident opening to its acknowledgement, for incidents opened in the
    period: everyone, then per person who acknowledged."""
    elapsed = _elapsed("created_at", "acknowledged_at")
    figures = {
        "n": Count("id"),
        "median": Percentile(elapsed, 0.5),
        "p90": Percentile(elapsed, 0.9),
    }
    incidents: QuerySet[Incident] = Incident.objects.filter(
        period.within("created_at"), acknowledged_at__isnull=False
    )
    overall = incidents.aggregate(**figures)
    table = Table("acknowledge", "Time to acknowledge", ["who", "incidents", "median", "p90"])
    table.rows.append(("everyone", overall["n"], overall["median"], overall["p90"]))
    per_person = (
        incidents.filter(acknowledged_by__isnull=False)
        .values("acknowledged_by", *_person("acknowledged_by"))
        .annotate(**figures)
        .order_by("acknowledged_by__username")
    )
    table.rows += [(_name(row, "acknowledged_by"), row["n"], row["median"], row["p90"]) for row in per_person]
    return table
