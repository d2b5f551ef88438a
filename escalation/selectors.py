"""Reads across schedules, policies and contact methods (on-call lookups, health, phone chain)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from escalation import business_hours, engine, oncall, reachability
from escalation.models import ContactMethod, ContactMethodKind, EscalationPolicy, Schedule, StepKind
from notifications.recipients import slack_chooses_channel, team_emails, team_slack
from supporthub.phone import InvalidPhoneNumber, to_e164

logger = logging.getLogger(__name__)

DEFAULT_SCHEDULE_NAME = "Support"
HEALTH_DAYS = 14


def default_schedule() -> Schedule | None:
    """The "Support" schedule (created by migration), else the first schedule."""
    return (
        Schedule.objects.filter(name=DEFAULT_SCHEDULE_NAME).first() or Schedule.objects.order_by("id").first()
    )


def _phones_by_user(user_ids: list[int]) -> dict[int, list[str]]:
    """Each person's numbers that can be called (voice contact methods), in one query."""
    methods = ContactMethod.objects.filter(user_id__in=user_ids, kind=ContactMethodKind.VOICE).order_by("pk")
    phones: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    for method in methods:
        phones[method.user_id].append(method.address)
    return phones


def _next_change(spec: oncall.ScheduleSpec, when: datetime) -> datetime:
    """When who a schedule (or any of its layers) has on call may next change, at most a day ahead."""
    horizon = when + CHAIN_HORIZON
    points = oncall.change_points(spec, when, horizon)
    return points[1] if len(points) > 1 else horizon


def _chain_at(when: datetime) -> tuple[list[str], datetime]:
    """(numbers of the on-call people in order, the instant until which that holds).

    Reads the schedules, policy and contact methods; SUPPORT_FORWARD_NUMBER is not included.
    """
    when = oncall.aware(when)
    users: list[Any] = []
    valid_until = when + CHAIN_HORIZON
    specs: dict[int, oncall.ScheduleSpec] = {}

    def spec_of(schedule: Schedule) -> oncall.ScheduleSpec:
        nonlocal valid_until
        if schedule.pk not in specs:
            specs[schedule.pk] = oncall.load(schedule, overrides_from=when)
            valid_until = min(valid_until, _next_change(specs[schedule.pk], when))
        return specs[schedule.pk]

    schedule = default_schedule()
    if schedule is not None:
        spec = spec_of(schedule)
        now = oncall.oncall_at(spec, when, with_until=False)
        if now.user is not None:
            users.append(now.user)
        users += [entry.user for entry in oncall.layer_oncall(spec, when) if entry.user is not None]
    policy = EscalationPolicy.objects.filter(on_urgent_ticket=True).order_by("id").first()
    if policy is not None:
        for step in policy.steps.select_related("schedule", "user"):
            if step.kind == StepKind.SCHEDULE and step.schedule is not None:
                person = oncall.oncall_at(spec_of(step.schedule), when, with_until=False).user
                if person is not None:
                    users.append(person)
            elif step.kind == StepKind.USER and step.user is not None and step.user.is_active:
                users.append(step.user)
    user_ids = list(dict.fromkeys(user.pk for user in users))
    phones = _phones_by_user(user_ids)
    numbers = [number for user_id in user_ids for number in phones[user_id]]
    return list(dict.fromkeys(numbers)), valid_until


# --- The phone chain, cached -----------------------------------------------------------------
# A call must not wait for 7-16 SQL statements to learn who is on call, yet an override made in
# the admin must route the very next call. So the last chain computed is kept in the shared
# cache, with the instant it stops holding (the next shift boundary or override edge, at most a
# day ahead), for at most CHAIN_TIMEOUT seconds. Saving or deleting anything the chain reads
# (schedules, layers, participants, overrides, contact methods, policies, steps, users)
# deletes it (escalation.apps), at once and again when the transaction commits, so the next
# call computes it afresh. A call can ring by an old chain only when that delete is lost (the
# cache was unreachable during the change) or another call read the old data just before the
# change committed and kept it just after; CHAIN_TIMEOUT bounds both, so an admin's change
# routes calls within seconds even then, and the rest of the chain still rings. With the
# cache unreachable every call computes the chain.
CHAIN_HORIZON = timedelta(days=1)
CHAIN_KEY = "escalation:phone-chain"
CHAIN_TIMEOUT = 10  # seconds


def phone_chain_invalidate() -> None:
    """Make the next call compute the phone chain afresh (called when on-call data changes).
    If the cache is unreachable the kept chain expires on its own within CHAIN_TIMEOUT."""
    try:
        cache.delete(CHAIN_KEY)
    except Exception:
        logger.error("shared cache unreachable: the kept phone chain may be %ss old", CHAIN_TIMEOUT)


def _cached_chain(when: datetime) -> list[str]:
    try:
        kept = cache.get(CHAIN_KEY)
    except Exception:  # the call must still be routed without the cache
        logger.warning("shared cache unreachable: phone chain computed from the database")
        return _chain_at(when)[0]
    if kept is not None:
        valid_from, valid_until, numbers = kept
        if valid_from <= when < valid_until:
            return numbers
    numbers, valid_until = _chain_at(when)
    try:
        cache.set(CHAIN_KEY, (when, valid_until, numbers), CHAIN_TIMEOUT)
    except Exception:
        logger.warning("shared cache unreachable: phone chain not kept")
    return numbers


def phone_chain(when: datetime | None = None) -> list[str]:
    """E.164 numbers to dial, in order, for a call to support at `when` (default now).

    The default schedule's on-call person, then whoever the lower layers have on call, then
    the people named by the urgent-ticket policy's steps (on-call of other schedules, or
    specific people), then SUPPORT_FORWARD_NUMBER. Deduplicated; may be empty. The chain
    for "now" is cached (see above); an explicit `when` is always computed.
    """
    numbers = list(_chain_at(when)[0] if when is not None else _cached_chain(timezone.now()))
    if settings.SUPPORT_FORWARD_NUMBER:
        with contextlib.suppress(InvalidPhoneNumber):
            numbers.append(to_e164(settings.SUPPORT_FORWARD_NUMBER))
    return list(dict.fromkeys(numbers))


@dataclass
class ScheduleHealth:
    schedule: Schedule
    gaps: list[oncall.Shift] = field(default_factory=list)
    # People on call now or within the reachability lead time with no contact method shown
    # to reach them (escalation.reachability).
    unreachable: list[Any] = field(default_factory=list)
    empty_layers: list[str] = field(default_factory=list)  # layers with no participants

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.unreachable and not self.empty_layers

    @property
    def rota_ok(self) -> bool:
        """No gaps and no empty layers (what the daily warning is about)."""
        return not self.gaps and not self.empty_layers

    def summary(self, *, people: bool = True) -> str:
        """What needs attention ("healthy" if nothing); `people=False` leaves out the unreachable."""
        parts = []
        if self.gaps:
            hours = sum((g.end - g.start).total_seconds() for g in self.gaps) / 3600
            first = self.gaps[0].start.astimezone(self.schedule.tz)
            parts.append(
                f"{len(self.gaps)} gap(s), {hours:.1f} h in the next {HEALTH_DAYS} days"
                f" (first {first:%a %d %b %H:%M %Z})"
            )
        if self.unreachable and people:
            names = ", ".join(sorted(str(u) for u in self.unreachable))
            parts.append(
                f"not shown reachable before their shift (no test page answered or page delivered): {names}"
            )
        if self.empty_layers:
            parts.append(f"layer(s) with nobody in the rotation: {', '.join(self.empty_layers)}")
        return "; ".join(parts) or "healthy"


def schedule_health(schedule: Schedule, now: datetime | None = None) -> ScheduleHealth:
    """Gaps in the next 14 days, empty layers, and people on call now or soon who are not
    shown reachable (`reachability.unreachable_shifts`)."""
    return schedules_health([schedule], now)[0]


def schedules_health(
    schedules: Iterable[Schedule] | None = None, now: datetime | None = None
) -> list[ScheduleHealth]:
    """The health of `schedules` (default: all), in a fixed number of queries."""
    now = now or timezone.now()
    schedules = list(Schedule.objects.all() if schedules is None else schedules)
    specs = oncall.load_many(schedules, overrides_from=now)
    unreachable = reachability.unreachable_shifts_many(specs, now)
    reports = []
    for schedule in schedules:
        spec = specs[schedule.pk]
        health = ScheduleHealth(
            schedule=schedule, gaps=oncall.gaps(spec, now, now + timedelta(days=HEALTH_DAYS))
        )
        health.unreachable = list({shift.user_id: shift.user for shift in unreachable[schedule.pk]}.values())
        health.empty_layers = [
            layer.name or f"level {layer.level}" for layer in spec.layers if not layer.participants
        ]
        reports.append(health)
    return reports


def oncall_now_table(now: datetime | None = None) -> list[tuple[Schedule, oncall.OnCall]]:
    """Every schedule with who is on call now (for the admin's "who is on call" page)."""
    now = now or timezone.now()
    schedules = list(Schedule.objects.all())
    specs = oncall.load_many(schedules, overrides_from=now)
    return [(schedule, oncall.oncall_at(specs[schedule.pk], now)) for schedule in schedules]


@dataclass(frozen=True)
class StepTiming:
    at: datetime
    round: int  # 0 for the first run of the policy
    position: int  # 1-based
    kind: str
    reaches: str  # who or what the step reaches, or why it reaches nobody
    reached: bool
    wait_minutes: int  # until the next step (0: the next runs at once)


def policy_timing(
    policy: EscalationPolicy, start: datetime | None = None
) -> tuple[list[StepTiming], datetime]:
    """When each step of `policy` fires for an incident opened at `start` that nobody
    acknowledges, and whom it reaches (schedules resolved at that moment), with the instant the
    escalation is exhausted. Uses the engine's own rules (`engine.step_wait`, `step_after`,
    `condition_holds`)."""
    at = start or timezone.now()
    steps = list(policy.steps.select_related("schedule", "user", "calendar"))
    timings: list[StepTiming] = []
    position: tuple[int, int] | None = (0, 0) if steps else None
    while position is not None:
        index, round_ = position
        step = steps[index]
        reaches, reached = _step_reaches(step, at)
        wait = engine.step_wait(step.snapshot(), reached=reached)
        timings.append(StepTiming(at, round_, index + 1, step.get_kind_display(), reaches, reached, wait))
        at += timedelta(minutes=wait)
        position = engine.step_after(index, round_, steps=len(steps), repeat_count=policy.repeat_count)
    return timings, at


def _step_reaches(step: Any, at: datetime) -> tuple[str, bool]:
    """(whom the step reaches at `at`, or why nobody; whether it reaches anyone), as the engine runs it."""
    calendar = business_hours.load(step.calendar) if step.calendar else None
    try:
        if not engine.condition_holds(step.condition, calendar, at):
            return f"skipped: {step.get_condition_display().lower()} does not hold", False
    except ValueError as exc:
        return f"broken: {exc}", False
    if step.kind == StepKind.SCHEDULE:
        if step.schedule is None:
            return "broken: its schedule was deleted", False
        who = oncall.oncall_at(step.schedule, at, with_until=False)
        if who.is_gap:
            return f"nobody on call on {step.schedule} (gap)", False
        return f"{who.user} (on call on {step.schedule})", True
    if step.kind == StepKind.USER:
        if step.user is None or not step.user.is_active:
            return "broken: its person was deleted or deactivated", False
        return str(step.user), True
    if step.kind == StepKind.SLACK:
        own = step.slack_channel
        channel = own if own and slack_chooses_channel() else team_slack()
        return (f"Slack {channel}", True) if channel else ("skipped: Slack is not configured", False)
    addresses = [step.email] if step.email else team_emails()
    return (", ".join(addresses), True) if addresses else ("broken: no team email address", False)
