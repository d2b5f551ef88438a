"""Schedule times in a browser on another continent: entered and shown on the schedule's clock."""

import datetime

import pytest

from escalation.models import LayerParticipant, Override, RotationLayer, Schedule, ShiftUnit
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def tokyo_page(browser):
    """A browser whose clock is in Tokyo (UTC+9, no DST), far from New York and the server's UTC."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(15_000)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Tokyo"
    yield page
    context.close()


@pytest.fixture
def new_york_desk(transactional_db):
    schedule = Schedule.objects.create(name="NY desk", time_zone="America/New_York")
    layer = RotationLayer.objects.create(
        schedule=schedule,
        shift_length=1,
        shift_unit=ShiftUnit.DAYS,
        handoff_time=datetime.time(9, 0),
        start_date=datetime.date(2026, 1, 1),
    )
    for position, name in enumerate(["nina", "omar"]):
        LayerParticipant.objects.create(layer=layer, user=UserFactory(username=name), position=position)
    return schedule


def test_an_override_typed_in_a_tokyo_browser_is_new_york_time(
    tokyo_page, live_server, console_admin, new_york_desk
):
    page = tokyo_page
    omar = LayerParticipant.objects.get(user__username="omar").user
    login(page, live_server, console_admin)
    page.goto(f"{live_server.url}/admin/escalation/schedule/{new_york_desk.pk}/change/")
    page.click("#overrides-group .add-row a")
    page.select_option("#id_overrides-0-user", str(omar.pk))
    page.fill("#id_overrides-0-start_0", "2026-12-07")
    page.fill("#id_overrides-0-start_1", "09:00")
    page.fill("#id_overrides-0-end_0", "2026-12-07")
    page.fill("#id_overrides-0-end_1", "17:00")
    page.click("input[name=_continue]")
    assert "was changed successfully" in page.inner_text("ul.messagelist")

    override = Override.objects.get(schedule=new_york_desk)
    utc = datetime.UTC
    # 09:00-17:00 EST, not UTC (04:00-12:00 EST) and not Tokyo time.
    assert (override.start, override.end) == (
        datetime.datetime(2026, 12, 7, 14, tzinfo=utc),
        datetime.datetime(2026, 12, 7, 22, tzinfo=utc),
    )
    # Shown back as entered, under headings that name the zone.
    assert page.input_value("#id_overrides-0-start_1") == "09:00:00"
    assert page.input_value("#id_overrides-0-end_1") == "17:00:00"
    headings = page.inner_text("#overrides-group thead")
    assert "START (AMERICA/NEW_YORK)" in headings.upper() and "END (AMERICA/NEW_YORK)" in headings.upper()
    assert "From (America/New_York)" in page.inner_text(".field-shift_preview")


def test_until_on_the_dashboard_and_who_is_on_call_now_names_the_zone(
    tokyo_page, live_server, console_admin, new_york_desk
):
    page = tokyo_page
    login(page, live_server, console_admin)
    row = page.locator("table.oncall-now tr", has_text="NY desk").inner_text()
    assert "until" in row and "09:00" in row and "(America/New_York)" in row
    page.goto(f"{live_server.url}/admin/escalation/schedule/oncall-now/")
    row = page.locator("tr", has_text="NY desk").inner_text()
    assert "09:00" in row and "(America/New_York)" in row
