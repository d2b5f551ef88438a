"""The schedule timeline in a browser: layers, overrides and the final schedule as bars."""

import datetime
import zoneinfo

import pytest

from escalation.models import LayerParticipant, Override, RotationLayer, Schedule, ShiftUnit
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def dst_desk(transactional_db):
    """A New York daily rotation that stops on Fri 13 Mar 2026 (a gap after), one override."""
    schedule = Schedule.objects.create(name="NY desk", time_zone="America/New_York")
    layer = RotationLayer.objects.create(
        schedule=schedule,
        name="Primary",
        shift_length=1,
        shift_unit=ShiftUnit.DAYS,
        handoff_time=datetime.time(9, 0),
        start_date=datetime.date(2026, 1, 1),
        end_date=datetime.date(2026, 3, 13),
    )
    for position, name in enumerate(["nina", "omar"]):
        LayerParticipant.objects.create(layer=layer, user=UserFactory(username=name), position=position)
    Override.objects.create(
        schedule=schedule,
        user=UserFactory(username="pat"),
        start=datetime.datetime(2026, 3, 10, 12, tzinfo=NEW_YORK),
        end=datetime.datetime(2026, 3, 10, 18, tzinfo=NEW_YORK),
    )
    return schedule


def test_a_dst_week_in_new_york_shows_a_23_hour_day_and_the_gap(page, live_server, console_admin, dst_desk):
    login(page, live_server, console_admin)
    page.goto(f"{live_server.url}/admin/escalation/schedule/{dst_desk.pk}/change/")
    page.click("#schedule-timeline-link")
    page.goto(f"{page.url}?range=week&start=2026-03-08")

    days = page.locator(".timeline-day")
    assert days.count() == 7
    sunday, monday = days.nth(0), days.nth(1)
    assert sunday.get_attribute("data-hours") == "23"
    assert "DST 23 h" in sunday.inner_text()
    assert page.locator(".timeline-day.dst-change").count() == 1
    # Drawn to scale: the spring-forward day is 23/24 of a normal day.
    ratio = sunday.bounding_box()["width"] / monday.bounding_box()["width"]
    assert ratio == pytest.approx(23 / 24, abs=0.01)

    rows = page.locator(".timeline-row .timeline-label").all_inner_texts()
    assert rows == ["Day", "Primary", "Overrides", "Final schedule"]
    override = page.locator(".timeline-overrides .bar")
    assert override.all_inner_texts() == ["pat"]
    assert "Tue 10 Mar 12:00 EDT to Tue 10 Mar 18:00 EDT" in override.get_attribute("title")
    final = page.locator(".timeline-final .bar")
    assert "pat" in final.all_inner_texts()
    # The handoff stays at 09:00 local across the change (EST before, EDT after).
    titles = [final.nth(i).get_attribute("title") for i in range(final.count())]
    assert titles[0].startswith("omar: Sun 08 Mar 00:00 EST to Sun 08 Mar 09:00 EDT (8 h")
    assert titles[1].startswith("nina: Sun 08 Mar 09:00 EDT to Mon 09 Mar 09:00 EDT (24 h")
    gap = page.locator(".timeline-final .bar.gap")
    assert gap.count() == 1
    assert "Fri 13 Mar 09:00 EDT" in gap.get_attribute("title")
    assert gap.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(198, 40, 40)"
    # No horizontal scroll at this width.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.click("#timeline-next")
    assert "start=2026-03-15" in page.url
    assert page.locator(".timeline-day.dst-change").count() == 0
    assert page.locator(".timeline-final .bar.gap").count() == 1  # nobody at all after the layer ends
    page.click("#timeline-previous")
    page.click("a.timeline-range:has-text('Month')")
    assert page.locator(".timeline-day").count() == 31  # March
    page.click("#timeline-previous")
    assert page.locator(".timeline-day").count() == 28  # February 2026


def test_a_bad_range_is_refused_by_name(client, console_admin, dst_desk):
    client.force_login(console_admin)
    url = f"/admin/escalation/schedule/{dst_desk.pk}/timeline/"
    response = client.get(url, {"range": "year"})
    assert response.status_code == 400 and b"range must be one of" in response.content
    response = client.get(url, {"start": "next tuesday"})
    assert response.status_code == 400 and b"start must be a date" in response.content


def test_click_a_gap_on_the_timeline_to_cover_it(page, live_server, console_admin, dst_desk):
    pat = Override.objects.get(schedule=dst_desk).user
    login(page, live_server, console_admin)
    page.goto(
        f"{live_server.url}/admin/escalation/schedule/{dst_desk.pk}/timeline/?range=week&start=2026-03-08"
    )
    gap = page.locator(".timeline-final .bar.gap")
    assert "Click to cover this shift" in gap.get_attribute("title")
    gap.click()
    # Prefilled on New York's clock: the gap starts Fri 13 Mar 09:00 EDT.
    assert page.input_value("#id_schedule") == str(dst_desk.pk)
    assert page.input_value("#id_start_0") == "2026-03-13"
    assert page.input_value("#id_start_1") == "09:00:00"
    assert page.input_value("#id_end_0") == "2026-03-15"  # the end of the week shown
    assert "Start (America/New_York)" in page.inner_text(".field-start")
    page.select_option("#id_user", str(pat.pk))
    page.click("input[name=_save]")
    assert "covers Fri 13 Mar 09:00 EDT (America/New_York) to Sun 15 Mar" in page.inner_text("ul.messagelist")
    assert "/timeline/" in page.url
    cover = Override.objects.get(schedule=dst_desk, user=pat, start__date=datetime.date(2026, 3, 13))
    assert cover.start == datetime.datetime(2026, 3, 13, 13, tzinfo=datetime.UTC)
    gap = page.locator(".timeline-final .bar.gap")  # the week from Fri 13 Mar: covered until Sunday
    assert gap.get_attribute("title").startswith("Nobody (gap): Sun 15 Mar 00:00 EDT")


def test_a_bad_prefilled_time_is_refused_by_name(client, console_admin, dst_desk):
    client.force_login(console_admin)
    response = client.get(
        "/admin/escalation/override/add/", {"schedule": dst_desk.pk, "start": "2026-03-13T09:00"}
    )
    assert response.status_code == 400 and b"start must be an ISO 8601 date-time" in response.content
