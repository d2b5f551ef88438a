"""Taking the pager: an eligible person becomes on call now, until the next handover.

The one verb behind the SMS command TAKE, the admin's "Take the pager" button and
`POST /v1/oncall/schedules/{id}/take`. It is recorded as an override, and the person who was
on call is told through the notifications outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from escalation import notices, oncall
from escalation.models import LayerParticipant, Override, Schedule
from supporthub.exceptions import DomainError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PagerTaken:
    """The override that puts the taker on call, and who was on call before (None: a gap)."""

    override: Override
    previous: Any = None


def _check_eligible(schedule: Schedule, user: Any) -> None:
    if not (user.is_active and user.is_staff):
        raise DomainError(
            f"{user} is not active staff and cannot be on call.", field="user", code="ineligible"
        )
    if not LayerParticipant.objects.filter(layer__schedule=schedule, user=user).exists():
        raise DomainError(
            f"{user} is in no rotation of {schedule}; only its participants can take its pager.",
            field="user",
            code="ineligible",
        )


@transaction.atomic
def pager_take(*, schedule: Schedule, user: Any, via: str, now: datetime | None = None) -> PagerTaken:
    """Put `user` on call on `schedule` from now until the next handover; returns what was done.

    The overrides the new one covers are cut back to now or removed. Raises DomainError
    (field "user") when `user` is not an active staff participant of the schedule or is
    already on call, and when nothing changes within 35 days (no handover to take it until).
    """
    now = now or timezone.now()
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)  # one take at a time
    _check_eligible(schedule, user)
    current = oncall.oncall_at(schedule, now)
    if current.user_id == user.pk:
        raise DomainError(f"{user} is already on call on {schedule}.", field="user", code="already_on_call")
    if current.until is None:
        raise DomainError(
            f"{schedule} has no handover in the next 35 days; add an override instead.",
            field="schedule",
            code="no_handover",
        )
    covered = Override.objects.filter(schedule=schedule, start__lt=current.until, end__gt=now)
    covered.filter(start__gte=now).delete()
    covered.filter(start__lt=now).update(end=now)
    override = Override.objects.create(
        schedule=schedule, user=user, start=now, end=current.until, reason=f"Took the pager ({via})"
    )
    if current.user is not None:
        _tell_previous(override, current.user)
    logger.info("%s took the pager of %s via %s until %s", user, schedule, via, current.until)
    return PagerTaken(override=override, previous=current.user)


def _tell_previous(override: Override, previous: Any) -> None:
    schedule = override.schedule
    text = (
        f"SupportHub: {override.user} took the pager of {schedule} until "
        f"{schedule.local(override.end)}. You are off call until then."
    )
    notices.person_notify(user=previous, text=text, key=f"pager-taken:{override.pk}")


def pager_take_by_text(*, user: Any, schedule_name: str) -> str:
    """TAKE from `user`'s phone: take the named schedule, else the one they are in; returns the answer."""
    if schedule_name:
        schedule = Schedule.objects.filter(name__iexact=schedule_name).first()
        if schedule is None:
            return f"No schedule is called {schedule_name[:40]!r}; nothing taken."
    else:
        schedules = list(Schedule.objects.filter(layers__participants__user=user).distinct())
        if not schedules:
            return "You are in no on-call rotation; nothing taken."
        if len(schedules) > 1:
            names = ", ".join(s.name for s in schedules)
            return f"You are on several schedules ({names}); text TAKE and the schedule's name."
        schedule = schedules[0]
    try:
        taken = pager_take(schedule=schedule, user=user, via="sms")
    except DomainError as exc:
        return exc.message
    return f"You are on call for {schedule} until {schedule.local(taken.override.end)}."
