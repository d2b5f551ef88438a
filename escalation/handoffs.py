"""Handoff notices: N minutes before an on-call shift starts, the incoming person is told by
SMS, email or Slack whom they take over from. Run by beat (`escalation.handoff_notices`);
each (schedule, shift start, person, method) is one outbox Delivery with a fixed idempotency
key, so a notice goes out once per shift however often the sweep runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escalation import oncall, paging
from escalation.models import ContactMethod, ContactMethodKind, Schedule
from notifications.models import Delivery
from notifications.recipients import slack_chooses_channel
from supporthub.exceptions import DomainError

logger = logging.getLogger(__name__)

NOTICE_KINDS = (ContactMethodKind.SMS, ContactMethodKind.EMAIL, ContactMethodKind.SLACK)


@dataclass(frozen=True)
class Target:
    """Where and how long before a shift one person hears of it."""

    channel: str
    address: str
    minutes: int


def targets(users: list[Any]) -> dict[int, list[Target]]:
    """Each person's handoff notice targets: their SMS, email and Slack methods with
    `handoff_notice_minutes` set; else, when ESCALATION_HANDOFF_NOTICE_MINUTES is above 0,
    their first such method (or their account's email) at that many minutes; else none.
    Slack needs the bot token (a direct message); without it Slack methods are passed over."""
    kinds = [k for k in NOTICE_KINDS if k != ContactMethodKind.SLACK or slack_chooses_channel()]
    methods: dict[int, list[ContactMethod]] = {user.pk: [] for user in users}
    for method in ContactMethod.objects.filter(user__in=users, kind__in=kinds).order_by("pk"):
        methods[method.user_id].append(method)
    default = int(settings.ESCALATION_HANDOFF_NOTICE_MINUTES)
    result: dict[int, list[Target]] = {}
    for user in users:
        chosen = [m for m in methods[user.pk] if m.handoff_notice_minutes is not None]
        found = [Target(m.kind, m.address, int(m.handoff_notice_minutes or 0)) for m in chosen]
        if not found and default > 0:
            first = methods[user.pk][:1]
            if first:
                found = [Target(first[0].kind, first[0].address, default)]
            elif user.email:
                found = [Target(ContactMethodKind.EMAIL, user.email, default)]
        result[user.pk] = found
    return result


def _text(schedule: Schedule, shift: oncall.Shift, previous: oncall.OnCall, now: datetime) -> str:
    start = shift.start.astimezone(schedule.tz)
    minutes = max(round((shift.start - now).total_seconds() / 60), 0)
    before = previous.user.get_username() if previous.user is not None else "nobody (the schedule has a gap)"
    return (
        f"[SupportHub] You are on call for {schedule.name} from {start:%a %d %b %H:%M %Z} "
        f"(in {minutes} min), taking over from {before}."
    )


def handoff_notices_send(*, now: datetime | None = None) -> int:
    """Queue the handoff notices due at `now` (default now); returns how many were new.

    A notice is due from `minutes` before its shift starts until the shift starts; one the
    sweep did not reach in that time is not sent late.
    """
    now = now or timezone.now()
    created = 0
    for schedule in Schedule.objects.all():
        created += _schedule_notices(schedule, now)
    return created


def _schedule_notices(schedule: Schedule, now: datetime) -> int:
    spec = oncall.load(schedule, overrides_from=now)
    users = list(spec.users.values())
    by_user = targets(users)
    horizon = max((t.minutes for found in by_user.values() for t in found), default=0)
    if horizon <= 0:
        return 0
    created = 0
    upcoming = oncall.shifts(spec, now, now + timedelta(minutes=horizon, seconds=1))[1:]  # [0] is now's
    with transaction.atomic():
        for shift in upcoming:
            if shift.is_gap:
                continue
            previous = oncall.oncall_at(spec, shift.start - timedelta(microseconds=1), with_until=False)
            if previous.user_id == shift.user_id:
                continue  # the same person goes on (another layer or an override): no handoff
            for target in by_user.get(shift.user_id or 0, []):
                if not (shift.start - timedelta(minutes=target.minutes) <= now < shift.start):
                    continue
                created += _notify(schedule, shift, previous, target, now)
    return created


def _notify(
    schedule: Schedule, shift: oncall.Shift, previous: oncall.OnCall, target: Target, now: datetime
) -> int:
    """Queue one notice unless this shift's was queued before; 1 when queued now."""
    start = f"{shift.start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    key = f"handoff:{schedule.pk}:{start}:u{shift.user_id}:{target.channel}:{target.address}"[:255]
    if Delivery.objects.filter(idempotency_key=key).exists():
        return 0
    try:
        paging.notify(
            channel=target.channel,
            recipient=target.address,
            body=_text(schedule, shift, previous, now),
            subject=f"[SupportHub] You are on call for {schedule.name} soon",
            idempotency_key=key,
        )
    except DomainError as exc:  # a bad address must not stop the other notices
        logger.warning("handoff notice %s not queued: %s", key, exc)
        return 0
    return 1
