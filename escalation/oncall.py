"""Who is on call: the one resolver every part of SupportHub uses.

`oncall_at(schedule, when)` answers for one instant; `shifts(schedule, start, end)` lists the
shifts that tile [start, end). Both accept a Schedule or a `ScheduleSpec` built by `load()`
(pure data, so the rotation maths is testable without a database).

Rules:
- A layer's handoffs happen at its local handoff time in the schedule's time zone, so a daily
  09:00 handoff stays 09:00 across DST changes; hour-based shifts also step in local wall time.
  A handoff that falls in a spring-forward hole happens at the first valid instant after it; on
  fall-back the first of the two ambiguous instants is used.
- Overrides win over every layer; among layers the highest level wins; a layer with no
  participants, before its start or after its end covers nothing.
- Nobody covering an instant is a gap: an explicit `OnCall(user_id=None, source="gap")`.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

GAP = "gap"
OVERRIDE = "override"


@dataclass(frozen=True)
class LayerSpec:
    level: int
    unit: str  # hours | days | weeks
    length: int
    handoff_time: time
    start_date: date
    participants: tuple[int, ...]
    handoff_weekday: int | None = None
    end_date: date | None = None
    name: str = ""

    @property
    def source(self) -> str:
        return f"layer:{self.level}"


@dataclass(frozen=True)
class OverrideSpec:
    start: datetime
    end: datetime
    user_id: int


@dataclass(frozen=True)
class ScheduleSpec:
    tz: zoneinfo.ZoneInfo
    layers: tuple[LayerSpec, ...] = ()
    overrides: tuple[OverrideSpec, ...] = ()
    users: dict[int, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class OnCall:
    """Who is on call at one instant: `user_id` None means an explicit gap."""

    user_id: int | None
    source: str
    user: Any = None
    until: datetime | None = None  # when this person's shift ends (None: beyond 35 days)

    @property
    def is_gap(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    user_id: int | None
    source: str
    user: Any = None

    @property
    def is_gap(self) -> bool:
        return self.user_id is None


def localize(naive: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """A local wall time as an aware UTC instant (holes move forward, ambiguous → first)."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def day_start(schedule: Any, when: datetime) -> datetime:
    """The start of `when`'s day in the schedule's time zone (a Schedule or ScheduleSpec), in UTC."""
    return localize(datetime.combine(_aware(when).astimezone(schedule.tz).date(), time()), schedule.tz)


def _unit_step(layer: LayerSpec) -> timedelta:
    if layer.unit == "hours":
        return timedelta(hours=layer.length)
    if layer.unit == "days":
        return timedelta(days=layer.length)
    return timedelta(weeks=layer.length)


def _anchor(layer: LayerSpec) -> datetime:
    first = layer.start_date
    if layer.unit == "weeks" and layer.handoff_weekday is not None:
        first += timedelta(days=(layer.handoff_weekday - first.weekday()) % 7)
    return datetime.combine(first, layer.handoff_time)


def _boundary(layer: LayerSpec, tz: zoneinfo.ZoneInfo, k: int) -> datetime:
    """UTC instant of the start of shift k (k=0 is the first shift)."""
    return localize(_anchor(layer) + k * _unit_step(layer), tz)


def _layer_end(layer: LayerSpec, tz: zoneinfo.ZoneInfo) -> datetime | None:
    if layer.end_date is None:
        return None
    return localize(datetime.combine(layer.end_date, layer.handoff_time), tz)


def _shift_index(layer: LayerSpec, tz: zoneinfo.ZoneInfo, when: datetime) -> int:
    """Largest k with boundary(k) <= when (may be negative)."""
    local = when.astimezone(tz).replace(tzinfo=None)
    k = (local - _anchor(layer)) // _unit_step(layer)
    # The wall-clock estimate is off by at most one around DST changes.
    for _ in range(4):
        if _boundary(layer, tz, k) > when:
            k -= 1
        elif _boundary(layer, tz, k + 1) <= when:
            k += 1
        else:
            break
    return k


def _layer_user(layer: LayerSpec, tz: zoneinfo.ZoneInfo, when: datetime) -> int | None:
    if not layer.participants:
        return None
    end = _layer_end(layer, tz)
    if end is not None and when >= end:
        return None
    k = _shift_index(layer, tz, when)
    if k < 0:
        return None
    return layer.participants[k % len(layer.participants)]


def _who(spec: ScheduleSpec, when: datetime) -> tuple[int | None, str]:
    for override in spec.overrides:
        if override.start <= when < override.end:
            return override.user_id, OVERRIDE
    for layer in sorted(spec.layers, key=lambda la: -la.level):
        user_id = _layer_user(layer, spec.tz, when)
        if user_id is not None:
            return user_id, layer.source
    return None, GAP


def _change_points(spec: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    """`start`, then every instant in (start, end) where the on-call person or a layer's may change."""
    points = {start}
    for layer in spec.layers:
        if not layer.participants:
            continue
        layer_end = _layer_end(layer, spec.tz)
        if layer_end is not None and start < layer_end < end:
            points.add(layer_end)
        k = max(_shift_index(layer, spec.tz, start), 0)
        while True:
            boundary = _boundary(layer, spec.tz, k)
            if boundary >= end or (layer_end is not None and boundary >= layer_end):
                break
            if boundary > start:
                points.add(boundary)
            k += 1
    for override in spec.overrides:
        for instant in (override.start, override.end):
            if start < instant < end:
                points.add(instant)
    return sorted(points)


def _spec(schedule: Any, since: datetime | None = None) -> ScheduleSpec:
    """A ScheduleSpec as is, or a Schedule loaded (overrides ending after `since` only)."""
    return schedule if isinstance(schedule, ScheduleSpec) else load(schedule, overrides_from=since)


change_points = _change_points


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("on-call times must be timezone-aware")
    return when.astimezone(UTC)


def _is_handoff(spec: ScheduleSpec, source: str, when: datetime) -> bool:
    """Whether `when` starts a shift of the layer named by `source` ("layer:<level>")."""
    for layer in spec.layers:
        if layer.source == source:
            return _boundary(layer, spec.tz, _shift_index(layer, spec.tz, when)) == when
    return False


def shifts(schedule: Any, start: datetime, end: datetime, *, split_handoffs: bool = False) -> list[Shift]:
    """Shifts tiling [start, end) in order; gaps are shifts with user_id None.

    Consecutive pieces with the same person from the same source are merged, except at a
    handoff of that layer when `split_handoffs` is set (a one-person rotation then still has
    one shift per rotation period).
    """
    start, end = _aware(start), _aware(end)
    spec = _spec(schedule, start)
    if end <= start:
        return []
    points = [*_change_points(spec, start, end), end]
    result: list[Shift] = []
    for seg_start, seg_end in itertools.pairwise(points):
        user_id, source = _who(spec, seg_start)
        same = bool(result) and result[-1].user_id == user_id and result[-1].source == source
        if same and split_handoffs and _is_handoff(spec, source, seg_start):
            same = False
        if same:
            last = result[-1]
            result[-1] = Shift(last.start, seg_end, user_id, source, last.user)
        else:
            result.append(Shift(seg_start, seg_end, user_id, source, spec.users.get(user_id or 0)))
    return result


# How far whole_shifts looks beyond its range for the real start and end of a shift.
WHOLE_SHIFT_REACH = timedelta(days=35)


def whole_shifts(schedule: Any, start: datetime, end: datetime) -> list[Shift]:
    """The shifts that overlap [start, end), each whole: from its real start to its real end.

    Split at every handoff (see `shifts`), so a shift's bounds do not depend on `start` and
    `end`. A stretch with no handoff for WHOLE_SHIFT_REACH (e.g. the gap before a rotation
    begins) is cut that far before `start` or after `end`.
    """
    start, end = _aware(start), _aware(end)
    spec = _spec(schedule, start - WHOLE_SHIFT_REACH)
    around = shifts(spec, start - WHOLE_SHIFT_REACH, end + WHOLE_SHIFT_REACH, split_handoffs=True)
    return [shift for shift in around if shift.end > start and shift.start < end]


def oncall_at(schedule: Any, when: datetime, *, with_until: bool = True) -> OnCall:
    """Who is on call at `when` (aware datetime): a person, or an explicit gap.

    `until` is when that changes (looked up to 35 days ahead; skipped with with_until=False).
    """
    when = _aware(when)
    spec = _spec(schedule, when)
    user_id, source = _who(spec, when)
    until = None
    for days in (1, 7, 35) if with_until else ():  # widen the look-ahead only when nothing changes sooner
        changes = [s.start for s in shifts(spec, when, when + timedelta(days=days)) if s.user_id != user_id]
        if changes:
            until = changes[0]
            break
    return OnCall(user_id=user_id, source=source, user=spec.users.get(user_id or 0), until=until)


def layer_oncall(schedule: Any, when: datetime) -> list[OnCall]:
    """Who each layer would have on call at `when`, highest level first (for fallbacks)."""
    when = _aware(when)
    spec = _spec(schedule, when)
    result = []
    for layer in sorted(spec.layers, key=lambda la: -la.level):
        user_id = _layer_user(layer, spec.tz, when)
        if user_id is not None:
            result.append(OnCall(user_id=user_id, source=layer.source, user=spec.users.get(user_id)))
    return result


def load(schedule: Any, *, overrides_from: datetime | None = None) -> ScheduleSpec:
    """Read a Schedule with its layers, participants and overrides into a ScheduleSpec."""
    return load_many([schedule], overrides_from=overrides_from)[schedule.pk]


def load_many(schedules: Iterable[Any], *, overrides_from: datetime | None = None) -> dict[int, ScheduleSpec]:
    """ScheduleSpecs of many schedules by id, in four queries whatever their number (layers,
    participants, their users, overrides with their users); only overrides ending after
    `overrides_from` when it is given."""
    from escalation.models import Override, RotationLayer

    by_id = {schedule.pk: schedule for schedule in schedules}
    layers: dict[int, list[LayerSpec]] = {pk: [] for pk in by_id}
    users: dict[int, dict[int, Any]] = {pk: {} for pk in by_id}
    for layer in RotationLayer.objects.filter(schedule_id__in=by_id).prefetch_related("participants__user"):
        participants = []
        for participant in layer.participants.all():
            participants.append(participant.user_id)
            users[layer.schedule_id][participant.user_id] = participant.user
        layers[layer.schedule_id].append(
            LayerSpec(
                level=layer.level,
                unit=layer.shift_unit,
                length=max(layer.shift_length, 1),
                handoff_time=layer.handoff_time,
                handoff_weekday=layer.handoff_weekday,
                start_date=layer.start_date,
                end_date=layer.end_date,
                participants=tuple(participants),
                name=layer.name,
            )
        )
    overrides_qs = Override.objects.filter(schedule_id__in=by_id).select_related("user")
    if overrides_from is not None:
        overrides_qs = overrides_qs.filter(end__gt=overrides_from)
    overrides: dict[int, list[OverrideSpec]] = {pk: [] for pk in by_id}
    for override in overrides_qs:
        users[override.schedule_id][override.user_id] = override.user
        overrides[override.schedule_id].append(
            OverrideSpec(start=override.start, end=override.end, user_id=override.user_id)
        )
    return {
        pk: ScheduleSpec(
            tz=schedule.tz, layers=tuple(layers[pk]), overrides=tuple(overrides[pk]), users=users[pk]
        )
        for pk, schedule in by_id.items()
    }


def gaps(schedule: Any, start: datetime, end: datetime) -> list[Shift]:
    return [shift for shift in shifts(schedule, start, end) if shift.is_gap]


def participants(schedule: Any) -> Iterable[Any]:
    return _spec(schedule).users.values()


aware = _aware
