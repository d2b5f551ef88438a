"""Property test: every instant has exactly one person or an explicit gap, and shifts tile the range."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation import oncall

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def layers(draw: st.DrawFn, level: int) -> oncall.LayerSpec:
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    length = draw(st.integers(1, 36 if unit == "hours" else 3))
    start = draw(st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 12, 1)))
    end = draw(st.none() | st.integers(1, 120).map(lambda d: start + timedelta(days=d)))
    return oncall.LayerSpec(
        level=level,
        unit=unit,
        length=length,
        handoff_time=time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))),
        handoff_weekday=draw(st.none() | st.integers(0, 6)),
        start_date=start,
        end_date=end,
        participants=tuple(draw(st.lists(st.integers(1, 6), max_size=4))),
    )


@st.composite
def schedules(draw: st.DrawFn) -> oncall.ScheduleSpec:
    count = draw(st.integers(0, 3))
    layer_specs = tuple(draw(layers(level)) for level in range(1, count + 1))
    overrides = []
    cursor = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 24 * 300)))
    for _ in range(draw(st.integers(0, 3))):
        start = cursor + timedelta(minutes=draw(st.integers(0, 60 * 24 * 10)))
        end = start + timedelta(minutes=draw(st.integers(1, 60 * 24 * 5)))
        overrides.append(oncall.OverrideSpec(start=start, end=end, user_id=draw(st.integers(1, 6))))
        cursor = end
    return oncall.ScheduleSpec(
        tz=zoneinfo.ZoneInfo(draw(st.sampled_from(ZONES))), layers=layer_specs, overrides=tuple(overrides)
    )


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=schedules(),
    start=instants,
    days=st.integers(1, 20),
    probes=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_shifts_tile_the_range_and_agree_with_oncall_at_everywhere(spec, start, days, probes):
    end = start + timedelta(days=days)
    result = oncall.shifts(spec, start, end)
    assert result[0].start == start
    assert result[-1].end == end
    for before, after in itertools.pairwise(result):
        assert before.end == after.start  # no overlap, no hole
        assert (before.user_id, before.source) != (after.user_id, after.source)  # merged
    for shift in result:
        assert shift.start < shift.end
        assert (shift.user_id is None) == (shift.source == "gap")
        for instant in (shift.start, shift.end - timedelta(microseconds=1)):
            now = oncall.oncall_at(spec, instant)
            assert (now.user_id, now.source) == (shift.user_id, shift.source)
    for fraction in probes:
        instant = start + (end - start) * fraction
        if instant >= end:
            continue
        containing = [s for s in result if s.start <= instant < s.end]
        assert len(containing) == 1
        assert oncall.oncall_at(spec, instant).user_id == containing[0].user_id


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=schedules(), start=instants, days=st.integers(1, 10), later=st.integers(1, 24 * 5))
def test_whole_shifts_do_not_depend_on_the_range_asked_for(spec, start, days, later):
    """What the iCal feed relies on: a shift seen from two ranges has the same start and end."""
    end = start + timedelta(days=days)
    first = oncall.whole_shifts(spec, start, end)
    second = oncall.whole_shifts(spec, start + timedelta(hours=later), end + timedelta(hours=later))
    reach = oncall.WHOLE_SHIFT_REACH
    both = [s for s in first if s in second]
    shared = [s for s in first if s.end > start + timedelta(hours=later)]
    # Every shift of the first range still running in the second is the same shift there,
    # unless it is a stretch without handoffs cut WHOLE_SHIFT_REACH out from either range.
    cut = [s for s in shared if s not in both]
    assert all(s.start <= start + timedelta(hours=later) - reach or s.end == end + reach for s in cut)
    for before, after in itertools.pairwise(first):
        assert before.end == after.start
    assert first[0].start <= start and first[-1].end >= end
