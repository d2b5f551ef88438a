"""Reachability: a test page per contact method, its answer, and the warning before a shift."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client

from escalation import health, reachability, tasks
from escalation.models import ContactMethod, IncidentPage, Schedule
from escalation.services import incident_trigger
from notifications.models import Delivery, DeliveryStatus
from tests.escalation.conftest import add_layer
from tests.telephony.conftest import BASE, TOKEN, FakeTwilio, sid, twiml
from tickets.models import Ticket

# Tuesday 8 December 2026, 23:00 in New York: eli's shift starts at 09:00 tomorrow (10 h away).
NOW = datetime(2026, 12, 9, 4, tzinfo=UTC)
ELI_STARTS = datetime(2026, 12, 9, 14, tzinfo=UTC)
ELI = "+14155550102"


@pytest.fixture(autouse=True)
def _twilio(settings):
    settings.TWILIO_AUTH_TOKEN, settings.PUBLIC_BASE_URL = TOKEN, BASE
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.ONCALL_REACHABILITY_LEAD_HOURS = 12


@pytest.fixture
def desk(db, dana, eli):
    schedule = Schedule.objects.create(name="NY desk", time_zone="America/New_York")
    add_layer(schedule, [dana, eli], unit="days", handoff=time(9), start=date(2026, 12, 8))
    return schedule


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def send_test_page(client: Client, method: ContactMethod) -> Delivery:
    response = client.post(
        "/admin/escalation/contactmethod/",
        {"action": "send_test_page", "_selected_action": [method.pk]},
        follow=True,
    )
    assert "Sent 1 test page(s)." in response.content.decode()
    return Delivery.objects.get(idempotency_key__startswith=f"test-page:{method.pk}:")


# --- Test pages and their answers -----------------------------------------------------------
def test_an_sms_test_page_is_answered_by_texting_its_code(staff_client, client, eli):
    method = eli.contact_methods.get(kind="sms")
    page = send_test_page(staff_client, method)
    code = re.search(r"Reply VERIFY (\d{6})", page.body).group(1)
    assert page.recipient == ELI
    texts = FakeTwilio(client)

    wrong = twiml(texts.sms(sid("SM"), f"VERIFY {(int(code) + 1) % 10**6:06d}", sender=ELI))
    assert "matches no test page" in wrong.find("Message").text
    method.refresh_from_db()
    assert method.verified_at is None

    right = twiml(texts.sms(sid("SM"), f"verify {code}.", sender=ELI))
    assert right.find("Message").text == f"Confirmed: pages to {ELI} reach you."
    method.refresh_from_db()
    assert method.verified_at is not None and method.test_code == ""
    assert not Ticket.objects.exists()  # staff texts are commands, never tickets


def test_a_voice_test_page_is_answered_by_pressing_1(staff_client, client, eli):
    method = eli.contact_methods.get(kind="voice")
    page = send_test_page(staff_client, method)
    action = re.search(r'action="([^"]+)"', page.payload["twiml"]).group(1).replace("&amp;", "&")
    url = urlsplit(action)
    assert f"{url.scheme}://{url.netloc}" == BASE and url.path == "/oncall/verify/call"
    call = FakeTwilio(client)

    other_key = twiml(call.post(url.path, {"Digits": "2", "CallSid": sid("CA")}, query=url.query))
    assert "Not confirmed" in other_key.find("Say").text
    forged = call.post(url.path, {"Digits": "1", "CallSid": sid("CA")}, query=url.query, token="wrong")
    assert forged.status_code == 403
    method.refresh_from_db()
    assert method.verified_at is None

    pressed = twiml(call.post(url.path, {"Digits": "1", "CallSid": sid("CA")}, query=url.query))
    assert pressed.find("Say").text == "Confirmed. Calls reach you. Goodbye."
    method.refresh_from_db()
    assert method.verified_at is not None


def test_an_email_test_page_is_answered_by_opening_its_link_once(staff_client, client, eli):
    method = ContactMethod.objects.create(user=eli, kind="email", address="eli@home.example")
    page = send_test_page(staff_client, method)
    link = re.search(r"https://\S+", page.body).group(0)
    assert link.startswith(f"{BASE}/oncall/verify/{method.pk}/")

    opened = client.get(urlsplit(link).path)
    assert opened.status_code == 200 and "Confirmed" in opened.content.decode()
    method.refresh_from_db()
    assert method.verified_at is not None
    assert client.get(urlsplit(link).path).status_code == 404  # used up
    assert client.get(f"/oncall/verify/{method.pk}/guess").status_code == 404


def test_a_test_page_is_over_a_day_later_no_longer_accepted(eli):
    method = eli.contact_methods.get(kind="sms")
    reachability.contact_method_test_page(method=method)
    method.refresh_from_db()
    later = method.test_sent_at + timedelta(days=1, seconds=1)
    assert reachability.contact_method_verify(method_id=method.pk, code=method.test_code, now=later) is None


def test_slack_methods_get_no_test_page(staff_client, eli):
    slack = ContactMethod.objects.create(user=eli, kind="slack", address="#oncall")
    response = staff_client.post(
        "/admin/escalation/contactmethod/",
        {"action": "send_test_page", "_selected_action": [slack.pk]},
        follow=True,
    )
    assert "Only SMS, voice and email contact methods get a test page." in response.content.decode()
    assert not Delivery.objects.exists()


# --- The check before each shift ------------------------------------------------------------
def warnings_about(user) -> list[Delivery]:
    return list(Delivery.objects.filter(idempotency_key__startswith="reachability:").filter(
        idempotency_key__contains=f":{user.pk}:"
    ).order_by("channel", "recipient"))  # fmt: skip


def test_someone_not_shown_reachable_is_warned_with_the_team_once_before_their_shift(desk, eli):
    with time_machine.travel(NOW - timedelta(hours=3), tick=False):  # 13 h ahead: too early
        assert reachability.reachability_check() == 0
    with time_machine.travel(NOW, tick=False):
        assert tasks.reachability_check() == 1
        assert reachability.reachability_check() == 1  # still unreachable, but told once
    warned = warnings_about(eli)
    assert [(d.channel, d.recipient) for d in warned] == [("email", "team@support.example"), ("sms", ELI)]
    assert "your on-call shift on NY desk starts Wed 09 Dec 09:00 EST (America/New_York)" in warned[1].body
    assert "eli goes on call on NY desk at Wed 09 Dec 09:00 EST (America/New_York)" in warned[0].body


@pytest.mark.parametrize(
    ("verified_days_ago", "page", "warned"),
    [
        (None, None, True),
        (29, None, False),
        (31, None, True),
        (None, ("sms", 10, ""), False),
        (None, ("sms", 40, ""), True),
        (None, ("voice", 10, "answered"), False),
        (None, ("voice", 10, "machine"), True),  # voicemail is not delivered
        (None, ("voice", 10, "no-answer"), True),
    ],
)
def test_a_method_verified_or_delivering_a_page_within_30_days_shows_reachability(
    desk, eli, default_policy, verified_days_ago, page, warned
):
    sms = eli.contact_methods.get(kind="sms")
    if verified_days_ago is not None:
        sms.verified_at = NOW - timedelta(days=verified_days_ago)
        sms.save()
    if page is not None:
        channel, days_ago, outcome = page
        incident = incident_trigger(reason="api", title="Old page")
        sent = NOW - timedelta(days=days_ago)
        delivery = Delivery.objects.create(channel=channel, recipient=ELI, body="page", idempotency_key="old",
                                           status=DeliveryStatus.SENT, sent_at=sent)  # fmt: skip
        IncidentPage.objects.create(
            incident=incident, user=eli, channel=channel, recipient=ELI, idempotency_key="old",
            status="sent", send_at=sent, sent_at=sent, delivery=delivery, call_outcome=outcome,
        )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        reachability.reachability_check()
    assert bool(warnings_about(eli)) is warned


def test_metrics_count_the_people_on_call_now_or_soon_not_shown_reachable(desk, dana, eli, client):
    dana.contact_methods.update(verified_at=NOW)
    from escalation.metrics import COLLECTOR

    COLLECTOR.forget()
    with time_machine.travel(NOW, tick=False):
        body = client.get("/metrics").content.decode()
    assert 'supporthub_oncall_unreachable{schedule="NY desk"} 1.0' in body  # eli, from 09:00


def test_the_daily_health_warning_leaves_people_to_the_check_before_their_shift(desk, dana, eli):
    with time_machine.travel(NOW, tick=False):
        assert health.schedule_health_report() == 1  # the Support schedule is one big gap
    assert not Delivery.objects.filter(idempotency_key__startswith=f"schedule-health:{desk.pk}:").exists()


def test_the_check_runs_every_15_minutes_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["escalation-reachability"]
    assert entry == {"task": "escalation.reachability_check", "schedule": 900.0}


def test_an_agent_sees_only_their_own_methods_and_sends_themselves_test_pages(eli, dana):
    from django.contrib.auth.models import Group

    from supporthub.roles import AGENT

    eli.groups.add(Group.objects.get(name=AGENT))
    browser = Client()
    browser.force_login(eli)
    listing = browser.get("/admin/escalation/contactmethod/").content.decode()
    assert ELI in listing and "+14155550101" not in listing  # not dana's number
    danas = dana.contact_methods.get(kind="sms")
    assert browser.get(f"/admin/escalation/contactmethod/{danas.pk}/change/").status_code in (302, 403)
    own = eli.contact_methods.get(kind="sms")
    # A forged selection of someone else's method sends nothing to it.
    browser.post(
        "/admin/escalation/contactmethod/",
        {"action": "send_test_page", "_selected_action": [own.pk, danas.pk]},
    )
    assert [d.recipient for d in Delivery.objects.all()] == [ELI]
