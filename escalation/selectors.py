"""Reads across schedules, policies and contact methods (on-call lookups, health, phone chain)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from escalation import oncall
from escalation.models import ContactMethodKind, EscalationPolicy, Schedule, StepKind
from supporthub.phone import InvalidPhoneNumber, to_e164

DEFAULT_SCHEDULE_NAME = "Support"
HEALTH_DAYS = 14


def default_schedule() -> Schedule | None:
    """The "Support" schedule (created by migration), else the first schedule."""
    return (
        Schedule.objects.filter(name=DEFAULT_SCHEDULE_NAME).first() or Schedule.objects.order_by("id").first()
    )


def _phones(user: Any) -> list[str]:
    """A person's numbers to dial: voice numbers first, then SMS numbers."""
    methods = sorted(
        (m for m in user.contact_methods.all() if m.kind in (ContactMethodKind.VOICE, ContactMethodKind.SMS)),
        key=lambda m: (m.kind != ContactMethodKind.VOICE, m.pk),
    )
    return [m.address for m in methods]


def phone_chain(when: datetime | None = None) -> list[str]:
    """E.164 numbers to dial, in order, for a call to support at `when` (default now).

    The default schedule's on-call person, then whoever the lower layers have on call, then
    the people named by the urgent-ticket policy's steps (on-call of other schedules, or
    specific people), then SUPPORT_FORWARD_NUMBER. Deduplicated; may be empty.
    """
    when = when or timezone.now()
    users: list[Any] = []
    schedule = default_schedule()
    if schedule is not None:
        spec = oncall.load(schedule)
        now = oncall.oncall_at(spec, when)
        if now.user is not None:
            users.append(now.user)
        users += [entry.user for entry in oncall.layer_oncall(spec, when) if entry.user is not None]
    policy = EscalationPolicy.objects.filter(on_urgent_ticket=True).order_by("id").first()
    if policy is not None:
        for step in policy.steps.select_related("schedule", "user"):
            if step.kind == StepKind.SCHEDULE and step.schedule is not None:
                person = oncall.oncall_at(step.schedule, when).user
                if person is not None:
                    users.append(person)
            elif step.kind == StepKind.USER and step.user is not None and step.user.is_active:
                users.append(step.user)
    numbers: list[str] = []
    for user in users:
        numbers += _phones(user)
    if settings.SUPPORT_FORWARD_NUMBER:
        with contextlib.suppress(InvalidPhoneNumber):
            numbers.append(to_e164(settings.SUPPORT_FORWARD_NUMBER))
    return list(dict.fromkeys(numbers))


@dataclass
class ScheduleHealth:
    schedule: Schedule
    gaps: list[oncall.Shift] = field(default_factory=list)
    unreachable: list[Any] = field(default_factory=list)  # participants with no contact method
    empty_layers: list[str] = field(default_factory=list)  # layers with no participants

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.unreachable and not self.empty_layers

    def summary(self) -> str:
        parts = []
        if self.gaps:
            hours = sum((g.end - g.start).total_seconds() for g in self.gaps) / 3600
            first = self.gaps[0].start.astimezone(self.schedule.tz)
            parts.append(
                f"{len(self.gaps)} gap(s), {hours:.1f} h in the next {HEALTH_DAYS} days"
                f" (first {first:%a %d %b %H:%M %Z})"
            )
        if self.unreachable:
            names = ", ".join(sorted(str(u) for u in self.unreachable))
            parts.append(f"no contact method: {names}")
        if self.empty_layers:
            parts.append(f"layer(s) with nobody in the rotation: {', '.join(self.empty_layers)}")
        return "; ".join(parts) or "healthy"


def schedule_health(schedule: Schedule, now: datetime | None = None) -> ScheduleHealth:
    """Gaps in the next 14 days and participants who cannot be paged (no contact method)."""
    now = now or timezone.now()
    spec = oncall.load(schedule, overrides_from=now)
    health = ScheduleHealth(schedule=schedule, gaps=oncall.gaps(spec, now, now + timedelta(days=HEALTH_DAYS)))
    user_ids = list(spec.users)
    users = get_user_model().objects.filter(pk__in=user_ids).prefetch_related("contact_methods")
    health.unreachable = [user for user in users if not user.contact_methods.all()]
    health.empty_layers = [
        layer.name or f"level {layer.level}" for layer in spec.layers if not layer.participants
    ]
    return health


def schedules_health(now: datetime | None = None) -> list[ScheduleHealth]:
    return [schedule_health(schedule, now) for schedule in Schedule.objects.all()]


def oncall_now_table(now: datetime | None = None) -> list[tuple[Schedule, oncall.OnCall]]:
    """Every schedule with who is on call now (for the admin's "who is on call" page)."""
    now = now or timezone.now()
    return [(schedule, oncall.oncall_at(schedule, now)) for schedule in Schedule.objects.all()]
