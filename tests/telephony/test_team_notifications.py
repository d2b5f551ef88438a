"""Missed calls, voicemails and texts reach the team through the notifications outbox, once."""

import pytest

from notifications.models import Delivery
from telephony.models import CallLog
from tests.team import TEAM_EMAIL, assert_each_team_address_emailed_once
from tests.telephony.conftest import sid, twiml, verbs
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_channels(settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example, lead@support.example"
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"
    settings.SLACK_CHANNEL = "#support"


def test_a_missed_call_and_its_voicemail_each_tell_the_team_once(twilio, team_channels):
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio.incoming_call(call_sid))
    for _ in range(2):  # a retried Dial action notifies nobody twice
        assert "Record" in verbs(twiml(twilio.dial_result(call_sid, 0, "no-answer")))

    call = CallLog.objects.get(call_sid=call_sid)
    missed = Delivery.objects.filter(message__external_id=f"{call_sid}:missed")
    assert sorted(missed.values_list("channel", "recipient")) == [
        ("email", "lead@support.example"),
        ("email", "team@support.example"),
        ("slack", "#support"),
    ]
    email = missed.filter(channel="email").first()
    assert email.subject.startswith(f"[{call.ticket.reference}] Missed call from")
    assert f"/admin/tickets/ticket/{call.ticket_id}/change/" in email.body
    assert (email.ticket, email.status) == (call.ticket, "pending")

    for _ in range(2):
        twiml(twilio.recording(call_sid, recording_sid))
    voicemail = Delivery.objects.filter(message__external_id=recording_sid)
    assert voicemail.count() == 3
    assert "Voicemail from" in voicemail.filter(channel="slack").get().body


def test_an_assigned_ticket_tells_its_assignee_instead_of_the_team(twilio, team_channels, agent, settings):
    settings.SLACK_WEBHOOK_URL = ""
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    Ticket.objects.update(assignee=agent)
    twiml(twilio.recording(call_sid, sid("RE")))
    assert list(Delivery.objects.values_list("recipient", flat=True)) == [agent.email]


def test_an_inbound_sms_tells_the_team(twilio, team_channels):
    twiml(twilio.sms(sid("SM"), "Is the outage fixed?"))
    message = Message.objects.get()
    assert Delivery.objects.filter(message=message).count() == 3


def test_with_no_team_channel_configured_nothing_is_queued_and_it_is_logged(twilio, caplog):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "no-answer"))
    assert not Delivery.objects.exists()
    assert "set SUPPORT_TEAM_EMAIL or SLACK_WEBHOOK_URL" in caplog.text


@pytest.fixture
def team(settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL
    settings.SLACK_WEBHOOK_URL = ""


def test_a_missed_call_emails_each_team_address_once(twilio, team):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "no-answer"))
    assert_each_team_address_emailed_once(Delivery.objects.filter(message__external_id=f"{call_sid}:missed"))


def test_a_voicemail_emails_each_team_address_once(twilio, team):
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "no-answer"))
    twiml(twilio.recording(call_sid, recording_sid))
    assert_each_team_address_emailed_once(Delivery.objects.filter(message__external_id=recording_sid))


def test_an_inbound_sms_emails_each_team_address_once(twilio, team):
    twiml(twilio.sms(sid("SM"), "Is the outage fixed?"))
    assert_each_team_address_emailed_once(Delivery.objects.filter(message=Message.objects.get()))
