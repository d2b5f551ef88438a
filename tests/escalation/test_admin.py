"""Admin: schedule preview and health, who-is-on-call page, incident buttons and actions."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.test import Client
from django.utils import timezone

from escalation import services
from escalation.models import EscalationPolicy, Incident, IncidentStatus, RotationLayer
from tests.escalation.conftest import add_layer


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_schedule_page_shows_the_shift_preview_health_and_feed(staff_client, support_schedule, dana):
    dana.contact_methods.update(verified_at=timezone.now())
    add_layer(support_schedule, [dana], unit="days", start=date(2020, 1, 1), handoff=time(9))
    page = staff_client.get(f"/admin/escalation/schedule/{support_schedule.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Shifts, next 14 days" in html and "dana" in html
    assert "healthy" in html
    assert f"token={support_schedule.feed_token}" in html


def test_schedule_list_and_layer_pages_render(staff_client, support_schedule, dana):
    add_layer(support_schedule, [dana])
    assert staff_client.get("/admin/escalation/schedule/").status_code == 200
    layer = RotationLayer.objects.get(schedule=support_schedule)
    assert staff_client.get(f"/admin/escalation/rotationlayer/{layer.pk}/change/").status_code == 200
    assert staff_client.get("/admin/escalation/schedule/add/").status_code == 200


def test_who_is_on_call_now_page(staff_client, support_schedule):
    page = staff_client.get("/admin/escalation/schedule/oncall-now/")
    assert page.status_code == 200
    assert "Nobody (gap)" in page.content.decode()


def test_incident_page_has_buttons_that_acknowledge_then_resolve(staff_client, default_policy, admin_user):
    incident = services.incident_trigger(reason="api", title="Disk full")
    url = f"/admin/escalation/incident/{incident.pk}/change/"
    html = staff_client.get(url).content.decode()
    assert 'name="_acknowledge"' in html and 'name="_resolve"' in html
    form = {"title": "Disk full", "ticket": "", "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0,
            "pages-TOTAL_FORMS": 0, "pages-INITIAL_FORMS": 0}  # fmt: skip
    staff_client.post(url, {**form, "_acknowledge": "1"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED and incident.acknowledged_by == admin_user
    staff_client.post(url, {**form, "_resolve": "1"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.events.filter(via="admin").count() == 2


def test_incident_list_actions(staff_client, default_policy):
    incidents = [services.incident_trigger(reason="api", title=f"i{n}") for n in range(2)]
    ids = [str(i.pk) for i in incidents]
    staff_client.post(
        "/admin/escalation/incident/", {"action": "acknowledge_selected", "_selected_action": ids}
    )
    assert set(Incident.objects.values_list("status", flat=True)) == {"acknowledged"}
    staff_client.post("/admin/escalation/incident/", {"action": "resolve_selected", "_selected_action": ids})
    assert set(Incident.objects.values_list("status", flat=True)) == {"resolved"}


def test_adding_an_incident_in_admin_triggers_it(staff_client, default_policy):
    form = {"title": "Manual page", "ticket": "", "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0,
            "pages-TOTAL_FORMS": 0, "pages-INITIAL_FORMS": 0}  # fmt: skip
    response = staff_client.post("/admin/escalation/incident/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get(title="Manual page")
    assert incident.reason == "manual" and incident.events.filter(kind="triggered").exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/escalation/escalationpolicy/",
        "/admin/escalation/contactmethod/",
        "/admin/escalation/notificationrule/",
        "/admin/escalation/businesscalendar/",
        "/admin/escalation/incident/",
    ],
)
def test_admin_lists_render(staff_client, default_policy, url):
    assert staff_client.get(url).status_code == 200


def test_policy_page_shows_ordered_steps(staff_client, default_policy):
    html = staff_client.get(
        f"/admin/escalation/escalationpolicy/{default_policy.pk}/change/"
    ).content.decode()
    assert "team_email" in html or "Email the team" in html


def test_overlapping_overrides_in_one_save_are_refused(staff_client, support_schedule, dana, eli):
    url = f"/admin/escalation/schedule/{support_schedule.pk}/change/"
    form = {
        "name": "Support", "description": "", "time_zone": "UTC",
        "layers-TOTAL_FORMS": 0, "layers-INITIAL_FORMS": 0,
        "overrides-TOTAL_FORMS": 2, "overrides-INITIAL_FORMS": 0,
        "overrides-0-user": dana.pk, "overrides-0-start_0": "2026-06-01", "overrides-0-start_1": "10:00",
        "overrides-0-end_0": "2026-06-01", "overrides-0-end_1": "14:00",
        "overrides-1-user": eli.pk, "overrides-1-start_0": "2026-06-01", "overrides-1-start_1": "13:00",
        "overrides-1-end_0": "2026-06-01", "overrides-1-end_1": "15:00",
    }  # fmt: skip
    response = staff_client.post(url, form)
    assert response.status_code == 200
    assert "Overlaps another override" in response.content.decode()
    form["overrides-1-start_1"] = "14:00"
    assert staff_client.post(url, form).status_code == 302


def test_a_rotation_layer_needs_at_least_one_participant_in_admin(staff_client, support_schedule):
    layer = add_layer(support_schedule, [])
    url = f"/admin/escalation/rotationlayer/{layer.pk}/change/"
    form = {
        "schedule": support_schedule.pk, "name": "", "level": 1, "shift_length": 1, "shift_unit": "days",
        "handoff_time": "09:00", "start_date": "2026-01-05", "end_date": "", "handoff_weekday": "",
        "participants-TOTAL_FORMS": 0, "participants-INITIAL_FORMS": 0, "participants-MIN_NUM_FORMS": 1,
    }  # fmt: skip
    response = staff_client.post(url, form)
    assert response.status_code == 200
    assert "Please submit at least 1 form" in response.content.decode()


def _policy_form(**step: str) -> dict[str, object]:
    return {
        "name": "Chat", "description": "", "repeat_count": 0, "runbook": "", "ack_timeout_minutes": 0,
        "steps-TOTAL_FORMS": 1, "steps-INITIAL_FORMS": 0, "steps-MIN_NUM_FORMS": 0, "steps-MAX_NUM_FORMS": 1000,
        "steps-0-position": 1, "steps-0-kind": "slack", "steps-0-wait_minutes": 5, "steps-0-condition": "always",
        **{f"steps-0-{name}": value for name, value in step.items()},
    }  # fmt: skip


def test_a_per_step_slack_channel_without_a_bot_token_is_refused_with_the_reason(staff_client, settings):
    settings.SLACK_BOT_TOKEN = ""
    page = staff_client.post("/admin/escalation/escalationpolicy/add/", _policy_form(slack_channel="#ops"))
    assert page.status_code == 200
    assert "needs SLACK_BOT_TOKEN" in page.content.decode()
    assert not EscalationPolicy.objects.filter(name="Chat").exists()

    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    page = staff_client.post("/admin/escalation/escalationpolicy/add/", _policy_form(slack_channel="#ops"))
    assert page.status_code == 302
    assert EscalationPolicy.objects.get(name="Chat").steps.get().slack_channel == "#ops"
