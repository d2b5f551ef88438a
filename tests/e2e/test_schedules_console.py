"""Schedules in the console: agents may look, admins edit, and the preview shows the effect."""

import datetime

import pytest

from escalation.models import LayerParticipant, RotationLayer, Schedule, ShiftUnit
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def rotation(transactional_db):
    schedule = Schedule.objects.create(name="Night desk", time_zone="Europe/Berlin")
    layer = RotationLayer.objects.create(
        schedule=schedule,
        name="Primary",
        shift_length=1,
        shift_unit=ShiftUnit.WEEKS,
        handoff_time=datetime.time(9, 0),
        start_date=datetime.date(2026, 1, 5),
    )
    for order, name in enumerate(["nina", "omar"]):
        LayerParticipant.objects.create(layer=layer, user=UserFactory(username=name), position=order)
    return layer


def test_an_agent_can_read_a_schedule_but_not_edit_it(page, live_server, console_agent, rotation):
    login(page, live_server, console_agent)
    response = page.goto(f"{live_server.url}/admin/escalation/schedule/{rotation.schedule.pk}/change/")
    assert response.status == 200
    assert page.locator("input[name=_save]").count() == 0  # view-only: no save button
    assert page.locator("#id_name").count() == 0  # fields are shown as text, not inputs
    layer = page.goto(f"{live_server.url}/admin/escalation/rotationlayer/{rotation.pk}/change/")
    assert layer.status == 200
    assert page.locator("#id_shift_length").count() == 0
    assert page.goto(f"{live_server.url}/admin/escalation/schedule/add/").status == 403
    # A forged POST to the change form is refused as well, and nothing changes.
    csrf = page.context.cookies()
    token = next(cookie["value"] for cookie in csrf if cookie["name"] == "csrftoken")
    forged = page.request.post(
        f"{live_server.url}/admin/escalation/rotationlayer/{rotation.pk}/change/",
        form={"csrfmiddlewaretoken": token, "shift_length": "9"},
        headers={"Referer": live_server.url},
    )
    assert forged.status == 403
    rotation.refresh_from_db()
    assert rotation.shift_length == 1


def test_an_admin_edits_a_rotation_and_the_preview_follows(page, live_server, console_admin, rotation):
    login(page, live_server, console_admin)
    page.goto(f"{live_server.url}/admin/escalation/rotationlayer/{rotation.pk}/change/")
    page.select_option("#id_shift_unit", ShiftUnit.DAYS)
    page.fill("#id_shift_length", "2")
    page.click("input[name=_save]")
    assert "was changed successfully" in page.inner_text("ul.messagelist")
    rotation.refresh_from_db()
    assert (rotation.shift_length, rotation.shift_unit) == (2, ShiftUnit.DAYS)
    page.goto(f"{live_server.url}/admin/escalation/schedule/{rotation.schedule.pk}/change/")
    preview = page.inner_text(".field-shift_preview")
    assert "nina" in preview and "omar" in preview
    assert preview.count("\n") >= 7  # two-day shifts: at least 7 rows in two weeks
