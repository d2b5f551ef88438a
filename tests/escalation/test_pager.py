"""Taking the pager: one service behind TAKE by SMS, the admin button and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from escalation import oncall, pager
from escalation.models import Override, Schedule
from notifications.models import Delivery
from supporthub.exceptions import DomainError
from supporthub.roles import AGENT
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.factories import make_api_key
from tests.telephony.conftest import BASE, TOKEN, FakeTwilio, sid, twiml

# Tuesday 8 December 2026, 15:00 in New York: dana's day (09:00 to 09:00), eli's tomorrow.
NOW = datetime(2026, 12, 8, 20, tzinfo=UTC)
HANDOVER = datetime(2026, 12, 9, 14, tzinfo=UTC)  # 09:00 EST
DANA, ELI, FAY = "+14155550101", "+14155550102", "+14155550103"


@pytest.fixture
def desk(db, dana, eli):
    """A New York desk whose daily rotation is dana, eli, fay (fay is on call on the 10th)."""
    schedule = Schedule.objects.create(name="NY desk", time_zone="America/New_York")
    fay = make_oncall_user("fay", FAY)
    add_layer(schedule, [dana, eli, fay], unit="days", handoff=time(9), start=date(2026, 12, 8))
    return schedule


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def sms_to(number: str) -> list[Delivery]:
    return list(Delivery.objects.filter(channel="sms", recipient=number))


def test_taking_the_pager_puts_the_taker_on_call_until_the_next_handover_and_tells_who_had_it(
    desk, dana, eli, clock
):
    taken = pager.pager_take(schedule=desk, user=eli, via="api")

    assert (taken.override.start, taken.override.end, taken.previous) == (NOW, HANDOVER, dana)
    assert oncall.oncall_at(desk, NOW).user == eli
    assert oncall.oncall_at(desk, HANDOVER).user == eli  # eli's own shift follows
    [told] = sms_to(DANA)
    assert told.body == (
        "SupportHub: eli took the pager of NY desk until Wed 09 Dec 09:00 EST (America/New_York). "
        "You are off call until then."
    )


def test_taking_the_pager_during_an_override_cuts_that_override_back(desk, dana, eli, clock):
    fay_user = desk.layers.get().participants.get(position=2).user
    earlier = Override.objects.create(schedule=desk, user=fay_user, start=NOW - timedelta(hours=2),
                                      end=NOW + timedelta(hours=3))  # fmt: skip
    later = Override.objects.create(schedule=desk, user=fay_user, start=NOW + timedelta(hours=3),
                                    end=NOW + timedelta(hours=5))  # fmt: skip

    taken = pager.pager_take(schedule=desk, user=dana, via="admin")

    earlier.refresh_from_db()
    assert earlier.end == NOW
    assert not Override.objects.filter(pk=later.pk).exists()  # fay's later cover is taken too
    assert (taken.override.start, taken.override.end, taken.previous) == (
        NOW,
        NOW + timedelta(hours=5),
        fay_user,
    )
    assert len(sms_to(FAY)) == 1


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("dana", "dana is already on call on NY desk."),
        ("stranger", "stranger is in no rotation of NY desk; only its participants can take its pager."),
        ("former", "former is not active staff and cannot be on call."),
    ],
)
def test_only_an_eligible_person_not_already_on_call_can_take_the_pager(desk, clock, who, message):
    user = make_oncall_user(who)
    if who == "former":
        add_layer(desk, [user], level=2, start=date(2027, 1, 1))
        user.is_active = False
        user.save()
    with pytest.raises(DomainError) as refused:
        pager.pager_take(schedule=desk, user=user, via="api")
    assert refused.value.message == message and refused.value.field == "user"
    assert not Override.objects.exists() and not Delivery.objects.exists()


def test_a_schedule_with_no_handover_ahead_cannot_be_taken(db, dana, eli, clock):
    solo = Schedule.objects.create(name="Solo", time_zone="UTC")
    add_layer(solo, [dana], start=date(2026, 1, 1))
    add_layer(solo, [eli], level=0, start=date(2030, 1, 1))  # eli takes part, never on call soon
    with pytest.raises(DomainError, match="no handover in the next 35 days"):
        pager.pager_take(schedule=solo, user=eli, via="api")


# --- The three ways in ----------------------------------------------------------------------
def test_texting_take_from_a_staff_number_takes_the_pager(desk, eli, dana, client, clock, settings):
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE
    root = twiml(FakeTwilio(client).sms(sid("SM"), "Take.", sender=ELI))

    answer = "You are on call for NY desk until Wed 09 Dec 09:00 EST (America/New_York)."
    assert [reply.text for reply in root.iter("Message")] == [answer]
    assert Override.objects.get().user == eli and len(sms_to(DANA)) == 1


def test_the_admin_button_takes_the_pager_for_the_signed_in_person(desk, eli, dana, clock):
    browser = Client()
    browser.force_login(eli)  # staff without any permission: may still take a rotation's pager
    page = browser.get(f"/admin/escalation/schedule/{desk.pk}/change/")
    assert page.status_code == 403  # eli cannot even view schedules…
    eli.user_permissions.add(*_view_schedule())
    page = browser.get(f"/admin/escalation/schedule/{desk.pk}/change/")
    assert 'id="take-the-pager"' in page.content.decode()

    response = browser.post(f"/admin/escalation/schedule/{desk.pk}/take/", follow=True)

    assert "You are on call for NY desk until Wed 09 Dec 09:00 EST (America/New_York)." in (
        response.content.decode()
    )
    assert Override.objects.get().user == eli and len(sms_to(DANA)) == 1
    again = browser.post(f"/admin/escalation/schedule/{desk.pk}/take/", follow=True).content.decode()
    assert "Eli is already on call on NY desk." in again  # the admin capitalises messages
    assert browser.get(f"/admin/escalation/schedule/{desk.pk}/take/").status_code == 405


def _view_schedule():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename="view_schedule")


def test_the_api_takes_the_pager_for_the_caller_or_a_named_person(desk, eli, dana, admin_user, api, clock):
    session = APIClient()
    session.force_login(eli)
    no_role = session.post(f"/v1/oncall/schedules/{desk.pk}/take", {}, format="json")
    assert no_role.status_code == 403  # staff with no role may not even see schedules
    eli.groups.add(Group.objects.get(name=AGENT))  # agents see schedules: enough to take the pager
    response = session.post(f"/v1/oncall/schedules/{desk.pk}/take", {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["override"]["user"]["username"] == "eli" and body["previous"]["username"] == "dana"
    assert body["override"]["end"].startswith("2026-12-09T14:00:00")
    assert len(sms_to(DANA)) == 1

    # An API key names the person; someone already on call is a 400 naming `user`.
    again = api.post(f"/v1/oncall/schedules/{desk.pk}/take", {"user": eli.pk}, format="json")
    assert again.status_code == 400 and "already on call" in again.json()["errors"]["user"][0]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "user"),  # an API key is nobody: name who takes it
        ({"user": 999999}, 400, "user"),
        ({"user": "dana"}, 400, "user"),
        ({"user": 1, "until": "later"}, 400, "until"),
    ],
)
def test_the_api_refuses_bad_takes_with_a_4xx_naming_the_field(desk, api, clock, body, status, field):
    response = api.post(f"/v1/oncall/schedules/{desk.pk}/take", body, format="json")
    assert response.status_code == status, response.content
    assert field in response.json()["errors"]
    assert not Override.objects.exists()


def test_the_api_answers_404_for_an_unknown_schedule_and_403_when_handing_the_pager_to_others(
    desk, eli, dana, api, clock
):
    assert api.post("/v1/oncall/schedules/999999/take", {"user": eli.pk}, format="json").status_code == 404
    session = APIClient()
    dana.groups.add(Group.objects.get(name=AGENT))
    session.force_login(dana)
    response = session.post(f"/v1/oncall/schedules/{desk.pk}/take", {"user": eli.pk}, format="json")
    assert response.status_code == 403
    assert not Override.objects.exists()


def test_the_take_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/v1/oncall/schedules/{id}/take"]["post"]
    assert operation["operationId"] == "oncall_schedules_take"
    assert {"201", "400", "403"} <= set(operation["responses"])


def test_take_by_text_names_the_schedule_when_the_sender_is_on_several(desk, eli, clock):
    other = Schedule.objects.create(name="Night desk", time_zone="UTC")
    add_layer(other, [eli], start=date(2027, 1, 1))
    several = pager.pager_take_by_text(user=eli, schedule_name="")
    names = several.removeprefix("You are on several schedules (").partition(")")[0]
    assert set(names.split(", ")) == {"Night desk", "NY desk"}
    assert several.endswith("; text TAKE and the schedule's name.")
    assert pager.pager_take_by_text(user=eli, schedule_name="Day desk") == (
        "No schedule is called 'Day desk'; nothing taken."
    )
    answer = pager.pager_take_by_text(user=eli, schedule_name="ny DESK")
    assert answer == "You are on call for NY desk until Wed 09 Dec 09:00 EST (America/New_York)."


def test_take_by_text_from_someone_in_no_rotation_takes_nothing(desk, clock):
    assert pager.pager_take_by_text(user=make_oncall_user("gus"), schedule_name="") == (
        "You are in no on-call rotation; nothing taken."
    )
    assert not Override.objects.exists()


@pytest.mark.parametrize(("scope", "status"), [("read-only", 403), ("agent", 403), ("admin", 201)])
def test_an_api_key_needs_the_scope_to_add_overrides_to_take_the_pager(desk, eli, clock, scope, status):
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=make_api_key(f"{scope} key", scope=scope))
    response = key.post(f"/v1/oncall/schedules/{desk.pk}/take", {"user": eli.pk}, format="json")
    assert response.status_code == status, response.content
    assert Override.objects.exists() is (status == 201)
