"""/v1/oncall and /v1/incidents: wiring, permissions, the iCal feed against shifts()."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
import time_machine

from escalation import oncall
from escalation.models import Incident, Override, Schedule
from tests.escalation.conftest import add_layer
from tests.factories import TicketFactory


@pytest.fixture
def rota(db, dana, eli):
    schedule = Schedule.objects.create(name="Rota", time_zone="Europe/Berlin")
    add_layer(schedule, [dana, eli], unit="days", handoff=time(9), start=date(2026, 3, 1))
    return schedule


def test_schedules_list_needs_an_api_key(anon, db):
    assert anon.get("/v1/oncall/schedules").status_code in (401, 403)


def test_schedules_list_shows_layers_and_participants(api, rota, support_schedule):
    body = api.get("/v1/oncall/schedules").json()
    names = [row["name"] for row in body["results"]]
    assert "Rota" in names and "Support" in names
    rota_row = next(row for row in body["results"] if row["name"] == "Rota")
    assert [p["username"] for p in rota_row["layers"][0]["participants"]] == ["dana", "eli"]


def test_now_says_who_is_on_call_and_until_when(api, rota):
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False):
        body = api.get(f"/v1/oncall/schedules/{rota.pk}/now").json()
    assert body["user"]["username"] == "eli"
    assert body["is_gap"] is False and body["source"] == "layer:1"
    assert body["until"].startswith("2026-03-03T08:00:00")


def test_now_at_a_given_instant_and_an_explicit_gap(api, rota, support_schedule):
    body = api.get(f"/v1/oncall/schedules/{rota.pk}/now", {"at": "2026-03-01T10:00:00+01:00"}).json()
    assert body["user"]["username"] == "dana"
    gap = api.get(f"/v1/oncall/schedules/{support_schedule.pk}/now").json()
    assert gap["is_gap"] is True and gap["user"] is None and gap["source"] == "gap"


def test_now_with_a_bad_instant_is_a_400_naming_at(api, rota):
    response = api.get(f"/v1/oncall/schedules/{rota.pk}/now", {"at": "yesterday"})
    assert response.status_code == 400
    assert "at" in response.json()["errors"]


def test_ics_feed_parsed_back_equals_shifts(api, rota, eli):
    Override.objects.create(
        schedule=rota,
        user=eli,
        start=datetime(2026, 3, 28, 20, tzinfo=UTC),
        end=datetime(2026, 3, 30, 3, tzinfo=UTC),
    )
    with time_machine.travel(datetime(2026, 3, 20, 10, 30, tzinfo=UTC), tick=False):
        response = api.get(f"/v1/oncall/schedules/{rota.pk}.ics", {"days": 21})
        start = datetime(2026, 3, 19, 23, tzinfo=UTC)  # midnight in Berlin
        expected = oncall.whole_shifts(rota, start, start + timedelta(days=21))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = [
        (e.decoded("dtstart"), e.decoded("dtend"), str(e.get("x-supporthub-user-id", "")) or None)
        for e in calendar.walk("VEVENT")
    ]
    assert events == [(s.start, s.end, str(s.user_id) if s.user_id else None) for s in expected]
    # The feed crosses the Berlin spring-forward change (29 March) and an override.
    assert any("override" in str(e.get("description")) for e in calendar.walk("VEVENT"))


def feed_events(api, schedule, made_at: datetime) -> tuple[bytes, list]:
    with time_machine.travel(made_at, tick=False):
        body = api.get(f"/v1/oncall/schedules/{schedule.pk}.ics", {"days": 7}).content
    return body, list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_ics_feeds_made_an_hour_apart_are_identical_with_real_shift_starts(api, rota):
    first, events = feed_events(api, rota, datetime(2026, 3, 20, 10, 30, tzinfo=UTC))
    second, _ = feed_events(api, rota, datetime(2026, 3, 20, 11, 30, tzinfo=UTC))
    assert first == second
    starts = [event.decoded("dtstart").astimezone(zoneinfo.ZoneInfo("Europe/Berlin")) for event in events]
    assert starts[0] == datetime(2026, 3, 19, 9, tzinfo=starts[0].tzinfo)  # the shift on at midnight
    assert all((start.hour, start.minute) == (9, 0) for start in starts)
    assert len({str(event["uid"]) for event in events}) == len(events)


def test_ics_feed_of_a_next_day_keeps_the_uid_and_times_of_the_shifts_both_show(api, rota):
    _, today = feed_events(api, rota, datetime(2026, 3, 20, 10, 30, tzinfo=UTC))
    _, tomorrow = feed_events(api, rota, datetime(2026, 3, 21, 10, 30, tzinfo=UTC))
    by_uid = {str(event["uid"]): event.to_ical() for event in today}
    shared = [event for event in tomorrow if str(event["uid"]) in by_uid]
    assert len(shared) == len(tomorrow) - 1  # one new shift at the end, the rest unchanged
    assert all(event.to_ical() == by_uid[str(event["uid"])] for event in shared)


def test_ics_feed_of_a_one_person_rotation_has_one_event_per_shift(api, dana):
    solo = Schedule.objects.create(name="Solo", time_zone="America/New_York")
    add_layer(solo, [dana], unit="weeks", handoff=time(8), start=date(2026, 1, 5), weekday=0)
    _, events = feed_events(api, solo, datetime(2026, 3, 4, 15, tzinfo=UTC))
    new_york = zoneinfo.ZoneInfo("America/New_York")
    starts = [event.decoded("dtstart").astimezone(new_york) for event in events]
    # Monday 08:00 New York each week, across the change to daylight time on 8 March.
    assert [(s.month, s.day, s.hour) for s in starts] == [(3, 2, 8), (3, 9, 8)]


def test_ics_feed_accepts_the_feed_token_for_calendar_apps(anon, rota):
    assert anon.get(f"/v1/oncall/schedules/{rota.pk}.ics").status_code == 401
    assert anon.get(f"/v1/oncall/schedules/{rota.pk}.ics", {"token": "wrong"}).status_code == 401
    assert anon.get(f"/v1/oncall/schedules/{rota.pk}.ics", {"token": rota.feed_token}).status_code == 200


def test_ics_feed_rejects_a_silly_range(api, rota):
    assert api.get(f"/v1/oncall/schedules/{rota.pk}.ics", {"days": 999}).status_code == 400
    assert api.get(f"/v1/oncall/schedules/{rota.pk}.ics", {"days": "x"}).status_code == 400


def test_incident_opened_by_api_then_acknowledged_and_resolved(api, default_policy):
    created = api.post("/v1/incidents", {"title": "Checkout down"}, format="json")
    assert created.status_code == 201, created.content
    incident_id = created.json()["id"]
    assert created.json()["status"] == "triggered"
    again = api.post("/v1/incidents", {"title": "Checkout down", "dedup_key": "x"}, format="json")
    assert again.status_code == 201  # no key on the first: a second incident
    ack = api.post(f"/v1/incidents/{incident_id}/acknowledge")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    resolved = api.post(f"/v1/incidents/{incident_id}/resolve")
    assert resolved.json()["status"] == "resolved"
    kinds = [event["kind"] for event in resolved.json()["events"]]
    assert kinds[0] == "triggered" and kinds[-2:] == ["acknowledged", "resolved"]
    assert resolved.json()["events"][-1]["via"] == "api"


def test_a_second_trigger_for_the_same_ticket_returns_the_open_incident(api, default_policy):
    ticket = TicketFactory()
    first = api.post("/v1/incidents", {"ticket": ticket.pk}, format="json")
    second = api.post("/v1/incidents", {"ticket": ticket.pk}, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Incident.objects.filter(ticket=ticket).count() == 1


def test_acknowledging_a_resolved_incident_is_a_400(api, default_policy):
    incident_id = api.post("/v1/incidents", {"title": "x"}, format="json").json()["id"]
    api.post(f"/v1/incidents/{incident_id}/resolve")
    response = api.post(f"/v1/incidents/{incident_id}/acknowledge")
    assert response.status_code == 400 and "status" in response.json()["errors"]


def test_incident_create_needs_a_title_or_ticket_and_rejects_unknown_fields(api, default_policy):
    assert "title" in api.post("/v1/incidents", {}, format="json").json()["errors"]
    assert "colour" in api.post("/v1/incidents", {"title": "x", "colour": 1}, format="json").json()["errors"]


def test_incident_list_filters_by_status(api, default_policy):
    one = api.post("/v1/incidents", {"title": "one"}, format="json").json()["id"]
    api.post("/v1/incidents", {"title": "two"}, format="json")
    api.post(f"/v1/incidents/{one}/resolve")
    body = api.get("/v1/incidents", {"status": "resolved"}).json()
    assert [row["id"] for row in body["results"]] == [one]
    assert api.get("/v1/incidents", {"status": "bogus"}).status_code == 400
    assert api.get(f"/v1/incidents/{one}").json()["title"] == "one"


def test_incident_detail_lists_its_pages(api, two_step_policy):
    from escalation import engine

    incident_id = api.post(
        "/v1/incidents", {"title": "x", "policy": two_step_policy.pk}, format="json"
    ).json()["id"]
    engine.escalation_tick()
    pages = api.get(f"/v1/incidents/{incident_id}").json()["pages"]
    assert [(p["channel"], p["recipient"], p["status"]) for p in pages] == [
        ("sms", "+14155550101", "sent"),
        ("voice", "+14155550101", "sent"),
    ]


def test_an_incident_escalated_by_api_runs_its_next_step_now_and_names_the_key(api, default_policy):
    incident_id = api.post("/v1/incidents", {"title": "Checkout down"}, format="json").json()["id"]
    api.post(f"/v1/incidents/{incident_id}/acknowledge")
    response = api.post(f"/v1/incidents/{incident_id}/escalate")
    assert response.status_code == 200 and response.json()["status"] == "triggered"
    event = response.json()["events"][-1]
    assert (event["kind"], event["via"]) == ("escalated", "api")
    assert event["message"].startswith("Escalated by API key “tests” via api")
    api.post(f"/v1/incidents/{incident_id}/resolve")
    refused = api.post(f"/v1/incidents/{incident_id}/escalate")
    assert refused.status_code == 400 and "status" in refused.json()["errors"]
