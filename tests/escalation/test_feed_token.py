"""The iCal feed token: rotated from the admin, and never written to the access log."""

import urllib.request

import pytest
from django.test import Client

from escalation.models import Schedule
from tests.services import REQUEST_TIMEOUT, gunicorn_server


@pytest.mark.django_db
def test_rotating_the_feed_token_in_admin_stops_the_old_url_at_once(admin_user, anon, support_schedule):
    old = support_schedule.feed_token
    feed = f"/v1/oncall/schedules/{support_schedule.pk}.ics"
    assert anon.get(feed, {"token": old}).status_code == 200
    staff = Client()
    staff.force_login(admin_user)

    staff.post(
        "/admin/escalation/schedule/",
        {"action": "rotate_feed_token", "_selected_action": [support_schedule.pk]},
    )

    new = Schedule.objects.get(pk=support_schedule.pk).feed_token
    assert new != old
    assert anon.get(feed, {"token": old}).status_code == 401
    assert anon.get(feed, {"token": new}).status_code == 200


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_access_log_shows_the_feed_request_without_its_token(tmp_path):
    schedule = Schedule.objects.create(name="Log check", time_zone="UTC")
    with gunicorn_server(tmp_path) as server:
        url = f"{server}/v1/oncall/schedules/{schedule.pk}.ics?days=2&token={schedule.feed_token}"
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
            assert response.status == 200

    log = (tmp_path / "gunicorn.log").read_text()
    assert f"/v1/oncall/schedules/{schedule.pk}.ics?days=2&token=[redacted]" in log
    assert schedule.feed_token not in log
