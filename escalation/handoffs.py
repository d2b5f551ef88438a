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

from escalation import notices, oncall, paging
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


def chosen_targets(users: list[Any]) -> dict[int, list[Target]]:
    """Each person's SMS, email and Slack methods with `handoff_notice_minutes` set. Slack
    needs the bot token (a direct message); without it Slack methods are passed over."""
    kinds = [k for k in NOTICE_KINDS if k != ContactMethodKind.SLACK or slack_chooses_channel()]
    methods = ContactMethod.objects.filter(
        user__in=users, kind__in=kinds, handoff_notice_minutes__isnull=False
    )
    result: dict[int, list[Target]] = {}
    for method in methods.order_by("pk"):
        target = Target(method.kind, method.address, int(method.handoff_notice_minutes or 0))
        result.setdefault(method.user_id, []).append(target)
    return result


def _text(schedule: Schedule, shift: oncall.Shift, previous: oncall.OnCall, now: datetime) -> str:
    minutes = max(round((shift.start - now).total_seconds() / 60), 0)
    before = previous.user.get_username() if previous.user is not None else "nobody (the schedule has a gap)"
    start = schedule.local(shift.start, zone_name=False)
    return (
        f"[{settings.APP_NAME}] You are on call for {schedule.name} from {start} (in {minutes} min), "
        f"taking over from {before}."
    )


def handoff_notices_send(*, now: datetime | None = None) -> int:
    """Queue the handoff notices due at `now` (default now); returns how many were new.

    A person hears through each method they chose, that many minutes before; one who chose
    none hears ESCALATION_HANDOFF_NOTICE_MINUTES before (when above 0) as other notices to a
    person go (`notices.person_notify`: SMS, else email). A notice is due from its lead time
    until the shift starts; one the sweep did not reach in that time is not sent late.
    """
    now = now or timezone.now()
    created = 0
    for schedule in Schedule.objects.all():
        created += _schedule_notices(schedule, now)
    return created


def _schedule_notices(schedule: Schedule, now: datetime) -> int:
    spec = oncall.load(schedule, overrides_from=now)
    chosen = chosen_targets(list(spec.users.values()))
    default = int(settings.ESCALATION_HANDOFF_NOTICE_MINUTES)
    horizon = max([default, *(t.minutes for found in chosen.values() for t in found)])
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
            text = _text(schedule, shift, previous, now)
            key = f"handoff:{schedule.pk}:{shift.start.astimezone(UTC):%Y%m%dT%H%M%SZ}:u{shift.user_id}"
            targets = chosen.get(shift.user_id or 0)
            if targets:
                for target in targets:
                    if _due(shift, target.minutes, now):
                        created += _notify(target, text, f"{key}:{target.channel}:{target.address}")
            elif default > 0 and _due(shift, default, now) and not _queued(key):
                notices.person_notify(user=shift.user, text=text, key=key)
                created += 1
    return created


def _due(shift: oncall.Shift, minutes: int, now: datetime) -> bool:
    return shift.start - timedelta(minutes=minutes) <= now < shift.start


def _queued(key: str) -> bool:
    return Delivery.objects.filter(idempotency_key__startswith=f"{key}:").exists()


def _notify(target: Target, text: str, key: str) -> int:
    """Queue one notice unless it was queued before; 1 when queued now."""
    key = key[:255]
    if Delivery.objects.filter(idempotency_key=key).exists():
        return 0
    try:
        paging.notify(
            channel=target.channel, recipient=target.address, subject=text, body=text, idempotency_key=key
        )
    except DomainError as exc:  # a bad address must not stop the other notices
        logger.warning("handoff notice %s not queued: %s", key, exc)
        return 0
    return 1
