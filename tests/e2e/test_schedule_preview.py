"""Preview before saving: a layer edit or a new override shows the next 14 days, unsaved."""

import datetime

import pytest
from django.utils import timezone

from escalation.models import LayerParticipant, Override, RotationLayer, Schedule, ShiftUnit
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def layer(transactional_db):
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
        LayerParticipant.objects.create(
            layer=layer, user=UserFactory(username=name, is_staff=True), position=order
        )
    return layer


def test_previewing_a_layer_edit_draws_the_schedule_without_saving(page, live_server, console_admin, layer):
    login(page, live_server, console_admin)
    page.goto(f"{live_server.url}/admin/escalation/rotationlayer/{layer.pk}/change/")
    assert page.locator("#schedule-preview").count() == 0
    page.select_option("#id_shift_unit", ShiftUnit.DAYS)
    page.fill("#id_shift_length", "1")
    page.click("#preview-button")
    page.wait_for_selector("#schedule-preview")
    final = page.locator("#schedule-preview .timeline-final .bar")
    assert final.count() >= 14  # daily handoffs over two weeks (weekly before the edit)
    assert page.locator(".errornote").count() == 0
    assert page.input_value("#id_shift_unit") == ShiftUnit.DAYS  # the form keeps the edit
    layer.refresh_from_db()
    assert layer.shift_unit == ShiftUnit.WEEKS  # nothing saved
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist")
    layer.refresh_from_db()
    assert layer.shift_unit == ShiftUnit.DAYS


def test_previewing_a_new_override_shows_it_without_saving(page, live_server, console_admin, layer):
    omar = LayerParticipant.objects.get(user__username="omar").user
    tomorrow = timezone.now().astimezone(layer.schedule.tz).date() + datetime.timedelta(days=1)
    login(page, live_server, console_admin)
    page.goto(f"{live_server.url}/admin/escalation/override/add/?schedule={layer.schedule.pk}")
    page.select_option("#id_user", str(omar.pk))
    page.fill("#id_start_0", tomorrow.isoformat())
    page.fill("#id_start_1", "10:00")
    page.fill("#id_end_0", tomorrow.isoformat())
    page.fill("#id_end_1", "14:00")
    page.click("#preview-button")
    page.wait_for_selector("#schedule-preview")
    bar = page.locator("#schedule-preview .timeline-overrides .bar")
    assert bar.all_inner_texts() == [str(omar)]
    assert f"{tomorrow:%a %d %b} 10:00 CE" in bar.get_attribute("title")  # on Berlin's clock
    assert not Override.objects.exists()
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist")
    assert Override.objects.get().user == omar
