"""The Twilio webhooks with the database really unreachable (the connection points at a port
nobody listens on): the caller still reaches SUPPORT_FORWARD_NUMBER and then voicemail, texts
and paging callbacks get valid TwiML, and everything is replayed once the database is back."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import OperationalError, connection

from escalation.models import Incident
from notifications.models import Delivery
from telephony import spool, tasks
from telephony.models import CallLog
from tests.services import free_port, require_postgres
from tests.telephony.conftest import BASE, CALLER, COMMITTING, DANA, ON_CALL, SUPPORT_LINE, sid, twiml, verbs
from tests.telephony.test_paging_calls import PagingCall
from tickets.models import Message

pytestmark = [pytest.mark.integration, COMMITTING]


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every query fails to connect until the block ends, as in a database outage."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        with pytest.raises(OperationalError):
            CallLog.objects.exists()
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def spool_dir(settings, tmp_path) -> Path:
    settings.TELEPHONY_SPOOL_DIR = str(tmp_path / "spool")
    return tmp_path / "spool"


def test_a_call_during_an_outage_reaches_the_forward_number_and_is_booked_when_the_database_returns(
    twilio, spool_dir, queued_bookings
):
    require_postgres()
    call_sid = sid("CA")
    with database_unreachable():
        root = twiml(twilio.incoming_call(call_sid, attach=False, CallerName="ADA LOVELACE"))
        goodbye = twiml(twilio.dial_result(call_sid, 0, "completed"))
        twiml(twilio.status(call_sid, "completed", CallDuration="80"))

    assert verbs(root) == ["Say", "Dial"]
    assert root.findtext("Dial/Number") == ON_CALL
    assert verbs(goodbye) == ["Say", "Hangup"]
    assert not CallLog.objects.exists()
    assert len(list(spool_dir.glob("*.json"))) == 3

    assert tasks.calls_spool_drain() == 3  # beat, once the database is back
    assert list(spool_dir.glob("*.json")) == []
    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.from_number, call.to_number, call.caller_name) == (CALLER, SUPPORT_LINE, "ADA LOVELACE")
    assert (call.dial_targets, call.status, call.duration, call.outcome) == (
        [ON_CALL],
        "completed",
        80,
        "answered",
    )
    assert list(Message.objects.filter(ticket=call.ticket).values_list("external_id", flat=True)) == [
        call_sid,
        f"{call_sid}:answered",
    ]
    assert tasks.calls_spool_drain() == 0


def test_the_first_call_after_an_outage_replays_the_spool_before_its_own(twilio, spool_dir, queued_bookings):
    require_postgres()
    during, after = sid("CA"), sid("CA")
    with database_unreachable():
        twiml(twilio.incoming_call(during, attach=False))
    twiml(twilio.incoming_call(after, attach=False))

    assert set(CallLog.objects.values_list("call_sid", flat=True)) == {during, after}
    assert list(spool_dir.iterdir()) == []


def test_with_no_forward_number_an_outage_call_goes_to_voicemail_and_is_still_kept(
    twilio, spool_dir, settings, queued_bookings
):
    require_postgres()
    settings.SUPPORT_FORWARD_NUMBER = ""
    call_sid = sid("CA")
    with database_unreachable():
        root = twiml(twilio.incoming_call(call_sid, attach=False))

    assert verbs(root) == ["Say", "Record", "Say", "Hangup"]
    assert tasks.calls_spool_drain() == 1
    assert CallLog.objects.get(call_sid=call_sid).dial_targets == []


def test_an_unanswered_outage_call_leaves_a_voicemail_that_joins_its_ticket_when_the_database_returns(
    twilio, spool_dir, queued_bookings
):
    require_postgres()
    call_sid, recording_sid = sid("CA"), sid("RE")
    with database_unreachable():
        twiml(twilio.incoming_call(call_sid, attach=False))
        record = twiml(twilio.dial_result(call_sid, 0, "no-answer"))
        thanks = twiml(twilio.recording(call_sid, recording_sid, status=None))
        twiml(twilio.recording(call_sid, recording_sid))
        twiml(twilio.transcription(call_sid, sid("TR"), "Please call me back."))
        twiml(twilio.status(call_sid, "completed", CallDuration="60"))

    assert verbs(record) == ["Say", "Record", "Say", "Hangup"]
    actions = [element.get("action") for element in record.iter("Record")]
    assert actions == [f"{BASE}/webhooks/twilio/voice/recording"]
    assert verbs(thanks) == ["Say", "Hangup"]
    assert tasks.calls_spool_drain() == 6
    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.outcome, call.recording_sid, call.transcript) == (
        "voicemail",
        recording_sid,
        "Please call me back.",
    )
    assert Message.objects.filter(ticket=call.ticket, body__startswith="Voicemail from").count() == 1


def test_a_recording_arriving_after_the_outage_is_replayed_behind_its_spooled_call(
    twilio, spool_dir, queued_bookings
):
    require_postgres()
    call_sid, recording_sid = sid("CA"), sid("RE")
    with database_unreachable():
        twiml(twilio.incoming_call(call_sid, attach=False))
        twiml(twilio.dial_result(call_sid, 0, "no-answer"))
    twiml(twilio.recording(call_sid, recording_sid))

    assert CallLog.objects.get(call_sid=call_sid).recording_sid == recording_sid
    assert not spool.spool_waiting()


def test_a_text_during_an_outage_gets_valid_twiml_and_joins_a_ticket_once_when_the_database_returns(
    twilio, spool_dir
):
    require_postgres()
    message_sid = sid("SM")
    with database_unreachable():
        first = twilio.sms(message_sid, "My order never came")
        retried = twilio.sms(message_sid, "My order never came")  # Twilio retries

    assert first.status_code == retried.status_code == 200
    assert verbs(twiml(first)) == []
    assert tasks.calls_spool_drain() == 2
    (message,) = Message.objects.filter(external_id=message_sid)
    assert (message.body, message.channel) == ("My order never came", "sms")
    # The reply the outage held back is texted once, through the outbox.
    (reply,) = Delivery.objects.filter(channel="sms", recipient=CALLER)
    assert message.ticket.reference in reply.body and reply.ticket == message.ticket
    assert reply.audience == "customer"


def test_an_ack_texted_during_an_outage_is_answered_by_text_when_it_is_replayed(
    twilio, twilio_api, policy, spool_dir
):
    require_postgres()
    call = PagingCall(policy, twilio_api, "Checkout is down")
    message_sid = sid("SM")
    with database_unreachable():
        answer = twilio.sms(message_sid, "ack", sender=DANA)
    assert verbs(twiml(answer)) == []
    assert tasks.calls_spool_drain() == 1
    assert Incident.objects.get(pk=call.page.incident_id).status == "acknowledged"
    (reply,) = Delivery.objects.filter(channel="sms", idempotency_key=f"sms:{message_sid}:reply")
    assert reply.recipient == DANA and reply.body.startswith(
        f"Acknowledged incident #{call.page.incident_id}"
    )


def test_a_paging_key_press_and_status_during_an_outage_are_answered_and_replayed(
    twilio, twilio_api, policy, spool_dir
):
    require_postgres()
    call = PagingCall(policy, twilio_api, "Checkout is down")
    with database_unreachable():
        root = twiml(
            twilio.post("/webhooks/twilio/page", {"Digits": "1", "CallSid": call.call_sid}, query=call.query)
        )
        status = twiml(call.callback(twilio, "completed", "human"))

    assert verbs(root) == ["Say", "Hangup"]
    assert "could not record your acknowledgement" in root.findtext("Say", "")
    assert verbs(status) == []
    assert Incident.objects.get(pk=call.page.incident_id).status == "triggered"
    assert tasks.calls_spool_drain() == 2
    assert Incident.objects.get(pk=call.page.incident_id).status == "acknowledged"
    assert call.outcome()[:2] == ("answered", "human")


def test_a_spooled_callback_the_services_refuse_moves_to_failed_and_stops_waiting(spool_dir, caplog):
    spool.spool_write("voice", call_sid=sid("CA"), payload={})  # no From/To: the service refuses it
    assert spool.spool_waiting()

    assert spool.spool_drain() == 0
    assert [path.suffix for path in (spool_dir / "failed").iterdir()] == [".json"]
    assert not spool.spool_waiting()
    assert "could not be replayed; moved to failed/" in caplog.text
