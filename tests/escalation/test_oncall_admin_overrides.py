"""Overrides entered through the admin, on the schedule's clock, across DST changes."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.test import Client

from escalation import oncall
from escalation.models import Override, Schedule
from tests.escalation.conftest import add_layer


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def schedule_form(schedule: Schedule, user, start: tuple[str, str], end: tuple[str, str]) -> dict:
    return {
        "name": schedule.name, "description": "", "time_zone": schedule.time_zone,
        "layers-TOTAL_FORMS": 0, "layers-INITIAL_FORMS": 0,
        "overrides-TOTAL_FORMS": 1, "overrides-INITIAL_FORMS": 0,
        "overrides-0-user": user.pk, "overrides-0-start_0": start[0], "overrides-0-start_1": start[1],
        "overrides-0-end_0": end[0], "overrides-0-end_1": end[1],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "day", "start", "end", "utc_start", "utc_end"),
    [
        # The reported case: 09:00-17:00 on a New York schedule is 14:00-22:00 UTC in winter.
        ("America/New_York", "2026-12-07", "09:00", "17:00", datetime(2026, 12, 7, 14), datetime(2026, 12, 7, 22)),
        # Midnight to 06:00 across each change: 5 h in spring, 7 h in autumn.
        ("America/New_York", "2026-03-08", "00:00", "06:00", datetime(2026, 3, 8, 5), datetime(2026, 3, 8, 10)),
        ("America/New_York", "2026-11-01", "00:00", "06:00", datetime(2026, 11, 1, 4), datetime(2026, 11, 1, 11)),
        ("Europe/London", "2026-03-29", "00:00", "03:00", datetime(2026, 3, 29, 0), datetime(2026, 3, 29, 2)),
        ("Europe/London", "2026-10-25", "00:00", "03:00", datetime(2026, 10, 24, 23), datetime(2026, 10, 25, 3)),
        ("Australia/Sydney", "2026-04-05", "00:00", "06:00", datetime(2026, 4, 4, 13), datetime(2026, 4, 4, 20)),
        ("Australia/Sydney", "2026-10-04", "00:00", "06:00", datetime(2026, 10, 3, 14), datetime(2026, 10, 3, 19)),
    ],
)  # fmt: skip
def test_an_override_entered_in_the_admin_is_on_the_schedules_clock(
    staff_client, dana, eli, zone, day, start, end, utc_start, utc_end
):
    schedule = Schedule.objects.create(name=f"Desk {zone}", time_zone=zone)
    add_layer(schedule, [dana], unit="days", handoff=time(12), start=date(2026, 1, 1))
    url = f"/admin/escalation/schedule/{schedule.pk}/change/"

    response = staff_client.post(url, schedule_form(schedule, eli, (day, start), (day, end)))

    assert response.status_code == 302, response.content.decode()[:3000]
    override = Override.objects.get(schedule=schedule)
    assert (override.start, override.end) == (utc_start.replace(tzinfo=UTC), utc_end.replace(tzinfo=UTC))
    # The resolver agrees: eli from the entered start to the entered end, dana around it.
    second = timedelta(seconds=1)
    assert oncall.oncall_at(schedule, override.start - second).user == dana
    assert oncall.oncall_at(schedule, override.start).user == eli
    assert oncall.oncall_at(schedule, override.end - second).user == eli
    assert oncall.oncall_at(schedule, override.end).user == dana
    # The page shows the override as entered, labelled with the zone.
    html = staff_client.get(url).content.decode()
    assert f'value="{day}"' in html and f'value="{start}:00"' in html and f'value="{end}:00"' in html
    assert f"Start ({zone})" in html and f"End ({zone})" in html


@pytest.mark.parametrize(
    ("zone", "day", "clock", "why"),
    [
        ("America/New_York", "2026-03-08", "02:30", "does not exist"),
        ("America/New_York", "2026-11-01", "01:30", "happens twice"),
        ("Europe/London", "2026-03-29", "01:30", "does not exist"),
        ("Australia/Sydney", "2026-04-05", "02:30", "happens twice"),
    ],
)
def test_an_override_at_a_time_that_does_not_exist_or_happens_twice_is_refused(
    staff_client, eli, zone, day, clock, why
):
    schedule = Schedule.objects.create(name=f"Desk {zone}", time_zone=zone)
    url = f"/admin/escalation/schedule/{schedule.pk}/change/"
    response = staff_client.post(url, schedule_form(schedule, eli, (day, clock), (day, "12:00")))
    assert response.status_code == 200
    html = response.content.decode()
    assert "be interpreted in time zone" in html and zone in html, why
    assert not Override.objects.exists()


def test_a_new_schedules_overrides_are_on_the_zone_being_entered(staff_client, eli):
    form = schedule_form(Schedule(name="Sydney desk", time_zone="Australia/Sydney"), eli,
                         ("2026-07-01", "09:00"), ("2026-07-01", "17:00"))  # fmt: skip
    response = staff_client.post("/admin/escalation/schedule/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    override = Override.objects.get(schedule__name="Sydney desk")
    assert override.start == datetime(2026, 6, 30, 23, tzinfo=UTC)  # 09:00 AEST is 23:00 UTC


def test_times_on_the_schedule_page_and_who_is_on_call_now_are_labelled_with_the_zone(
    staff_client, dana, eli
):
    schedule = Schedule.objects.create(name="NY desk", time_zone="America/New_York")
    layer = add_layer(schedule, [dana, eli], unit="days", handoff=time(9), start=date(2026, 1, 1))
    page = staff_client.get(f"/admin/escalation/schedule/{schedule.pk}/change/").content.decode()
    assert "From (America/New_York)" in page and "Handoff time (America/New_York)" in page
    layer_page = staff_client.get(f"/admin/escalation/rotationlayer/{layer.pk}/change/").content.decode()
    assert "Handoff time (America/New_York)" in layer_page
    now_page = staff_client.get("/admin/escalation/schedule/oncall-now/").content.decode()
    until = oncall.oncall_at(schedule, datetime.now(UTC)).until
    assert until is not None
    label = until.astimezone(zoneinfo.ZoneInfo("America/New_York")).strftime("%a %d %b 09:00 %Z")
    assert f"{label} (America/New_York)" in now_page
    dashboard = staff_client.get("/admin/").content.decode()
    assert f"until {label} (America/New_York)" in dashboard
