"""Business calendars: open/closed, adding business minutes across nights, weekends, holidays and DST."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time

import pytest

from escalation import business_hours
from escalation.models import BusinessCalendar, BusinessHours, Holiday

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def office(db) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name="Berlin office", time_zone="Europe/Berlin")
    for weekday in range(5):
        BusinessHours.objects.create(calendar=calendar, weekday=weekday, opens=time(9), closes=time(17))
    Holiday.objects.create(calendar=calendar, date=date(2026, 4, 3), name="Good Friday")
    return calendar


def test_open_and_closed(office):
    assert business_hours.is_open(office, datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN))
    assert not business_hours.is_open(office, datetime(2026, 3, 2, 17, 0, tzinfo=BERLIN))
    assert not business_hours.is_open(office, datetime(2026, 3, 7, 12, 0, tzinfo=BERLIN))  # Saturday
    assert not business_hours.is_open(office, datetime(2026, 4, 3, 12, 0, tzinfo=BERLIN))  # holiday


def test_minutes_roll_over_the_night_and_the_weekend(office):
    friday_late = datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN)
    due = business_hours.add_business_minutes(office, friday_late, 120)
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN)


def test_minutes_started_outside_hours_begin_at_opening(office):
    sunday = datetime(2026, 3, 8, 22, 0, tzinfo=BERLIN)
    assert business_hours.add_business_minutes(office, sunday, 15) == datetime(
        2026, 3, 9, 9, 15, tzinfo=BERLIN
    )


def test_holidays_are_skipped_and_dst_keeps_local_opening_hours(office):
    # Thursday 2 April 16:30 + 60 min: Friday is a holiday, so Monday 6 April 09:30 (CEST).
    due = business_hours.add_business_minutes(office, datetime(2026, 4, 2, 16, 30, tzinfo=BERLIN), 60)
    assert due == datetime(2026, 4, 6, 9, 30, tzinfo=BERLIN)
    # Across the 29 March change: Friday 27 March (CET) 16:00 + 120 min → Monday 30 March 10:00 CEST.
    due = business_hours.add_business_minutes(office, datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN), 120)
    assert due == datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN)
    assert due.astimezone(UTC).hour == 8


def test_business_minutes_between(office):
    start = datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN)
    end = datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN)
    assert business_hours.business_minutes_between(office, start, end) == 120
    assert business_hours.business_minutes_between(office, end, start) == 0


def test_a_calendar_with_no_hours_is_never_open(db):
    closed = BusinessCalendar.objects.create(name="Closed", time_zone="UTC")
    assert business_hours.add_business_minutes(closed, datetime(2026, 1, 1, tzinfo=UTC), 5) is None
    assert not business_hours.is_open(closed, datetime(2026, 1, 1, tzinfo=UTC))
