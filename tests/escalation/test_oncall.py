"""The on-call resolver: rotation maths, DST, overrides, stacked layers and gaps."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from escalation import oncall
from escalation.models import Override, Schedule
from tests.escalation.conftest import add_layer
from tests.factories import UserFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def local(tz: zoneinfo.ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.fixture
def people(db):
    return [UserFactory(username=name) for name in ("ann", "ben", "cat")]


def test_weekly_rotation_hands_off_each_monday_for_weeks(db, people):
    schedule = Schedule.objects.create(name="Weekly", time_zone="Europe/Berlin")
    add_layer(schedule, people, unit="weeks", handoff=time(9), start=date(2026, 1, 1), weekday=0)
    # First Monday on/after 1 Jan 2026 is 5 Jan.
    assert oncall.oncall_at(schedule, local(BERLIN, 2026, 1, 5, 8, 59)).is_gap
    expected = ["ann", "ben", "cat", "ann", "ben", "cat", "ann"]
    for week, name in enumerate(expected):
        when = local(BERLIN, 2026, 1, 5, 9, 0) + timedelta(weeks=week, hours=1)
        assert oncall.oncall_at(schedule, when).user.username == name


@pytest.mark.parametrize(
    ("tz_name", "spring", "autumn"),
    [
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ],
)
def test_daily_0900_handoff_stays_at_0900_local_across_dst(db, people, tz_name, spring, autumn):
    tz = zoneinfo.ZoneInfo(tz_name)
    schedule = Schedule.objects.create(name=f"Daily {tz_name}", time_zone=tz_name)
    add_layer(schedule, people[:2], unit="days", handoff=time(9), start=date(2026, 1, 1))
    for day in (spring, autumn):
        window = oncall.shifts(
            schedule,
            datetime.combine(day - timedelta(days=2), time(12), tz),
            datetime.combine(day + timedelta(days=3), time(12), tz),
        )
        starts = [s.start.astimezone(tz) for s in window[1:]]
        assert starts and all((s.hour, s.minute) == (9, 0) for s in starts)
        lengths = {(s.end - s.start) for s in window[1:-1]}
        # The shift that contains the change is 23 or 25 hours long; the others 24.
        assert timedelta(hours=24) in lengths
        assert lengths <= {timedelta(hours=23), timedelta(hours=24), timedelta(hours=25)}
        assert len(lengths) == 2


def test_spring_forward_handoff_inside_the_hole_moves_to_the_first_valid_instant(db, people):
    schedule = Schedule.objects.create(name="Night", time_zone="Europe/Berlin")
    add_layer(schedule, people[:2], unit="days", handoff=time(2, 30), start=date(2026, 3, 1))
    # 29 March 2026 02:30 does not exist in Berlin; the handoff happens at 03:30 CEST (01:30 UTC).
    before = oncall.oncall_at(schedule, datetime(2026, 3, 29, 1, 29, tzinfo=UTC)).user_id
    after = oncall.oncall_at(schedule, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)).user_id
    assert before != after


def test_fall_back_ambiguous_handoff_uses_the_first_instant(db, people):
    schedule = Schedule.objects.create(name="Night NY", time_zone="America/New_York")
    add_layer(schedule, people[:2], unit="days", handoff=time(1, 30), start=date(2026, 10, 1))
    # 1 Nov 2026 01:30 happens twice in New York; the handoff is at the first (05:30 UTC).
    before = oncall.oncall_at(schedule, datetime(2026, 11, 1, 5, 29, tzinfo=UTC)).user_id
    after = oncall.oncall_at(schedule, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)).user_id
    later = oncall.oncall_at(schedule, datetime(2026, 11, 1, 6, 45, tzinfo=UTC)).user_id
    assert before != after == later


def test_twelve_hour_shifts_keep_local_wall_clock_handoffs_in_new_york(db, people):
    schedule = Schedule.objects.create(name="Halves", time_zone="America/New_York")
    add_layer(schedule, people[:2], unit="hours", length=12, handoff=time(8), start=date(2026, 3, 1))
    window = oncall.shifts(schedule, local(NEW_YORK, 2026, 3, 6, 8), local(NEW_YORK, 2026, 3, 10, 8))
    assert [(s.start.astimezone(NEW_YORK).hour) for s in window] == [8, 20] * 4


def test_override_crossing_a_handoff_wins_and_the_rotation_resumes(db, people):
    ann, ben, cat = people
    schedule = Schedule.objects.create(name="Ovr", time_zone="Europe/Berlin")
    add_layer(schedule, [ann, ben], unit="days", handoff=time(9), start=date(2026, 6, 1))
    Override.objects.create(
        schedule=schedule, user=cat, start=local(BERLIN, 2026, 6, 1, 20), end=local(BERLIN, 2026, 6, 2, 12)
    )
    window = oncall.shifts(schedule, local(BERLIN, 2026, 6, 1, 9), local(BERLIN, 2026, 6, 3, 9))
    assert [(s.user.username, s.start.astimezone(BERLIN).hour, s.source) for s in window] == [
        ("ann", 9, "layer:1"),
        ("cat", 20, "override"),
        ("ben", 12, "layer:1"),
    ]
    now = oncall.oncall_at(schedule, local(BERLIN, 2026, 6, 2, 10))
    assert now.user == cat
    assert now.until == local(BERLIN, 2026, 6, 2, 12)


def test_higher_layer_wins_and_lower_layer_fills_its_gaps(db, people):
    ann, ben, cat = people
    schedule = Schedule.objects.create(name="Stack", time_zone="UTC")
    add_layer(schedule, [ann], level=1, unit="weeks", handoff=time(0), start=date(2026, 1, 1))
    top = add_layer(schedule, [ben, cat], level=2, unit="days", handoff=time(9), start=date(2026, 1, 10))
    top.end_date = date(2026, 1, 12)
    top.save()
    assert oncall.oncall_at(schedule, datetime(2026, 1, 10, 8, tzinfo=UTC)).user == ann
    assert oncall.oncall_at(schedule, datetime(2026, 1, 10, 9, tzinfo=UTC)).user == ben
    assert oncall.oncall_at(schedule, datetime(2026, 1, 11, 9, tzinfo=UTC)).user == cat
    assert oncall.oncall_at(schedule, datetime(2026, 1, 12, 9, tzinfo=UTC)).user == ann
    assert [s.source for s in oncall.layer_oncall(schedule, datetime(2026, 1, 10, 10, tzinfo=UTC))] == [
        "layer:2",
        "layer:1",
    ]


def test_an_empty_schedule_is_an_explicit_gap_not_a_crash(db):
    schedule = Schedule.objects.create(name="Empty", time_zone="UTC")
    now = oncall.oncall_at(schedule, datetime(2026, 1, 1, tzinfo=UTC))
    assert now.is_gap and now.source == "gap" and now.user is None
    window = oncall.shifts(schedule, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC))
    assert len(window) == 1 and window[0].is_gap


def test_a_layer_with_no_participants_covers_nothing(db):
    schedule = Schedule.objects.create(name="Nobody", time_zone="UTC")
    add_layer(schedule, [], start=date(2026, 1, 1))
    assert oncall.oncall_at(schedule, datetime(2026, 2, 1, tzinfo=UTC)).is_gap


def test_oncall_now_follows_the_clock(db, people):
    schedule = Schedule.objects.create(name="Clock", time_zone="Europe/Berlin")
    add_layer(schedule, people, unit="days", handoff=time(9), start=date(2026, 1, 1))
    with time_machine.travel(local(BERLIN, 2026, 1, 2, 10), tick=False):
        from django.utils import timezone

        assert oncall.oncall_at(schedule, timezone.now()).user.username == "ben"


def test_naive_times_are_refused(db):
    schedule = Schedule.objects.create(name="Naive", time_zone="UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        oncall.oncall_at(schedule, datetime(2026, 1, 1))
