"""The inbound call flow: ring whoever is on call, then the next person, then voicemail."""

import logging

import pytest

from telephony.models import CallLog
from tests.factories import ContactFactory, TicketFactory
from tests.telephony.conftest import BASE, CALLER, NEXT_ON_CALL, ON_CALL, SUPPORT_LINE, sid, twiml, verbs
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

DIAL_URL = f"{BASE}/webhooks/twilio/voice/dial"
STATUS_URL = f"{BASE}/webhooks/twilio/voice/status"
RECORDING_URL = f"{BASE}/webhooks/twilio/voice/recording"


def test_an_inbound_call_is_logged_on_a_new_phone_ticket_and_rings_the_on_call_number(twilio):
    call_sid = sid("CA")
    root = twiml(twilio.incoming_call(call_sid))

    assert verbs(root) == ["Say", "Dial"]
    assert "Thank you for calling" in root.find("Say").text
    dial = root.find("Dial")
    assert dial.get("action") == f"{DIAL_URL}?attempt=0"
    assert dial.get("method") == "POST"
    assert dial.get("timeout") == "20"
    number = dial.find("Number")
    assert number.text == ON_CALL
    assert number.get("statusCallback") == STATUS_URL
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"

    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.direction, call.from_number, call.to_number) == ("inbound", CALLER, SUPPORT_LINE)
    assert (call.status, call.forwarded_to, call.dial_targets) == ("ringing", ON_CALL, [ON_CALL])
    assert call.last_payload["CallSid"] == call_sid
    ticket = call.ticket
    assert (ticket.channel, ticket.contact.phone, ticket.subject) == (
        "phone",
        CALLER,
        f"Phone call from {CALLER}",
    )
    assert list(ticket.messages.values_list("direction", "channel", "external_id")) == [
        ("inbound", "phone", call_sid)
    ]


def test_the_full_call_flow_ends_answered_and_completed(twilio):
    call_sid, leg_sid = sid("CA"), sid("CA")
    twiml(twilio.incoming_call(call_sid))
    leg = {"ParentCallSid": call_sid, "From": CALLER, "To": ON_CALL}
    for event in ("initiated", "ringing"):
        twiml(twilio.status(leg_sid, event, **leg))
    twiml(twilio.status(leg_sid, "answered", Timestamp="Wed, 25 Nov 2026 01:40:00 +0000", **leg))

    root = twiml(twilio.dial_result(call_sid, 0, "completed", DialCallDuration="95"))
    assert verbs(root) == ["Say", "Hangup"]
    assert "Goodbye" in root.find("Say").text

    twiml(twilio.status(leg_sid, "completed", CallDuration="95", **leg))
    twiml(twilio.status(call_sid, "completed", CallDuration="101"))

    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.status, call.outcome, call.duration, call.forwarded_to) == (
        "completed",
        "answered",
        101,
        ON_CALL,
    )
    assert call.answered_at.isoformat() == "2026-11-25T01:40:00+00:00"
    assert call.ended_at is not None
    leg_log = CallLog.objects.get(call_sid=leg_sid)
    assert (leg_log.parent, leg_log.direction, leg_log.to_number) == (call, "outbound", ON_CALL)
    assert (leg_log.status, leg_log.duration, leg_log.ticket) == ("completed", 95, call.ticket)
    assert leg_log.answered_at is not None
    notes = call.ticket.messages.filter(direction="note").values_list("body", flat=True)
    assert list(notes) == [f"Call answered by {ON_CALL}."]


def test_a_second_call_from_the_same_caller_joins_their_open_phone_ticket(twilio):
    first, second = sid("CA"), sid("CA")
    twiml(twilio.incoming_call(first))
    twiml(twilio.incoming_call(second))

    assert Ticket.objects.count() == 1
    ticket = Ticket.objects.get()
    assert set(ticket.calls.values_list("call_sid", flat=True)) == {first, second}
    assert ticket.message_count == 2


def test_a_caller_with_only_a_closed_ticket_gets_a_new_one(twilio):
    contact = ContactFactory(phone=CALLER)
    old = TicketFactory(contact=contact, channel="phone", status="closed")
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.ticket != old
    assert call.ticket.contact == contact


def test_a_replayed_inbound_call_webhook_answers_the_same_and_writes_nothing_new(twilio):
    call_sid = sid("CA")
    first = twilio.incoming_call(call_sid)
    again = twilio.incoming_call(call_sid)

    assert first.content == again.content
    assert CallLog.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_withheld_caller_id_still_reaches_support_on_a_ticket_of_its_own(twilio):
    call_sid = sid("CA")
    root = twiml(twilio.incoming_call(call_sid, caller="anonymous"))

    assert root.find("Dial/Number").text == ON_CALL
    call = CallLog.objects.get(call_sid=call_sid)
    assert call.from_number == ""
    assert call.ticket.contact.phone is None
    assert call.ticket.subject == "Phone call from a withheld number"


def test_no_answer_rings_the_next_person_once_then_offers_voicemail(twilio, on_call_chain):
    on_call_chain(ON_CALL, NEXT_ON_CALL, "+14155550133")
    call_sid = sid("CA")
    assert twiml(twilio.incoming_call(call_sid)).find("Dial/Number").text == ON_CALL

    root = twiml(twilio.dial_result(call_sid, 0, "no-answer"))
    assert verbs(root) == ["Say", "Dial"]
    assert "another colleague" in root.find("Say").text
    assert root.find("Dial").get("action") == f"{DIAL_URL}?attempt=1"
    assert root.find("Dial/Number").text == NEXT_ON_CALL
    assert CallLog.objects.get(call_sid=call_sid).forwarded_to == NEXT_ON_CALL

    root = twiml(twilio.dial_result(call_sid, 1, "busy"))
    assert verbs(root) == ["Say", "Record", "Say", "Hangup"]
    assert "leave a message" in root.find("Say").text
    record = root.find("Record")
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == f"{BASE}/webhooks/twilio/voice/transcription"
    assert record.get("recordingStatusCallback") == RECORDING_URL
    assert record.get("action") == RECORDING_URL
    assert record.get("maxLength") == "120"
    assert record.get("playBeep") == "true"

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.outcome == "voicemail"
    missed = call.ticket.messages.get(external_id=f"{call_sid}:missed")
    assert missed.direction == "note"
    assert f"rang {ON_CALL}, {NEXT_ON_CALL}" in missed.body


def test_the_voicemail_recording_and_its_transcript_are_attached_to_the_ticket(twilio):
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "no-answer"))

    # <Record action> first: the caller hears goodbye, the voicemail joins the ticket.
    root = twiml(twilio.recording(call_sid, recording_sid, status=None, duration=42))
    assert verbs(root) == ["Say", "Hangup"]
    # The recording-status callback and a retry of it change nothing more.
    assert verbs(twiml(twilio.recording(call_sid, recording_sid))) == []
    twiml(twilio.recording(call_sid, recording_sid))

    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.recording_sid, call.recording_duration) == (recording_sid, 42)
    assert call.recording_url.endswith(f"/Recordings/{recording_sid}")
    voicemail = call.ticket.messages.get(external_id=recording_sid)
    assert (voicemail.direction, voicemail.channel) == ("inbound", "phone")
    assert voicemail.body == f"Voicemail from {CALLER} (0:42): {call.recording_url}.mp3"

    transcription_sid = sid("TR")
    for _ in range(2):
        assert verbs(twiml(twilio.transcription(call_sid, transcription_sid, " Please call me back. "))) == []
    call.refresh_from_db()
    assert call.transcript == "Please call me back."
    transcript = call.ticket.messages.get(external_id=transcription_sid)
    assert transcript.body == "Voicemail transcript: “Please call me back.”"
    assert call.ticket.messages.count() == 4  # call, missed note, voicemail, transcript


def test_an_empty_or_failed_recording_becomes_a_note(twilio):
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.recording(call_sid, recording_sid, status="absent", duration=0))
    twiml(twilio.transcription(call_sid, sid("TR"), "", status="failed"))

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.recording_sid == ""
    notes = list(call.ticket.messages.filter(direction="note").values_list("body", flat=True))
    assert notes == [
        "No voicemail: the caller left no message.",
        "The voicemail could not be transcribed; listen to the recording.",
    ]


def test_with_nobody_to_ring_the_caller_goes_straight_to_voicemail(twilio, settings):
    settings.SUPPORT_FORWARD_NUMBER = ""
    call_sid = sid("CA")
    root = twiml(twilio.incoming_call(call_sid))

    assert verbs(root) == ["Say", "Record", "Say", "Hangup"]
    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.outcome, call.dial_targets, call.dial_attempts) == ("voicemail", [], 0)
    assert call.ticket.messages.filter(external_id=f"{call_sid}:missed").exists()


def test_the_on_call_person_calling_the_support_line_is_not_rung_back(twilio, on_call_chain):
    on_call_chain(ON_CALL, NEXT_ON_CALL)
    root = twiml(twilio.incoming_call(sid("CA"), caller=ON_CALL))
    assert root.find("Dial/Number").text == NEXT_ON_CALL


def test_a_caller_hanging_up_while_it_rings_is_an_abandoned_missed_call(twilio, on_call_chain):
    on_call_chain(ON_CALL, NEXT_ON_CALL)
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    root = twiml(twilio.dial_result(call_sid, 0, "canceled"))

    assert verbs(root) == ["Hangup"]
    call = CallLog.objects.get(call_sid=call_sid)
    assert call.outcome == "abandoned"
    assert "hung up before anyone answered" in call.ticket.messages.get(external_id=f"{call_sid}:missed").body


def test_a_replayed_dial_result_answers_the_same_and_notes_the_miss_once(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    first = twilio.dial_result(call_sid, 0, "failed")
    again = twilio.dial_result(call_sid, 0, "failed")

    assert first.content == again.content
    assert Message.objects.filter(external_id=f"{call_sid}:missed").count() == 1


def test_a_dial_result_for_an_unknown_call_just_hangs_up(twilio):
    root = twiml(twilio.dial_result(sid("CA"), 0, "no-answer"))
    assert verbs(root) == ["Hangup"]
    assert CallLog.objects.count() == 0


def test_a_voicemail_for_a_ticket_closed_mid_call_opens_a_new_ticket(twilio):
    call_sid, recording_sid = sid("CA"), sid("RE")
    twiml(twilio.incoming_call(call_sid))
    first = CallLog.objects.get(call_sid=call_sid).ticket
    Ticket.objects.filter(pk=first.pk).update(status="closed")
    twiml(twilio.recording(call_sid, recording_sid))

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.ticket != first
    assert call.ticket.messages.filter(external_id=recording_sid).exists()


def test_the_ring_chain_skips_invalid_and_repeated_numbers(twilio, on_call_chain, caplog):
    on_call_chain("not a number", ON_CALL, ON_CALL, NEXT_ON_CALL)
    call_sid = sid("CA")
    with caplog.at_level(logging.ERROR, logger="telephony"):
        twiml(twilio.incoming_call(call_sid))
    assert CallLog.objects.get(call_sid=call_sid).dial_targets == [ON_CALL, NEXT_ON_CALL]
    assert "invalid number" in caplog.text


def test_a_single_dial_attempt_goes_to_voicemail_after_the_first_person(twilio, on_call_chain, settings):
    settings.TELEPHONY_DIAL_ATTEMPTS = 1
    on_call_chain(ON_CALL, NEXT_ON_CALL)
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    assert "Record" in verbs(twiml(twilio.dial_result(call_sid, 0, "no-answer")))
