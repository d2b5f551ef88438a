"""Fault injection: Twilio retries and reorders. Every callback of a missed call arrives three
times, and the asynchronous ones (status, recording, transcription) in a shuffled order.

Invariant: one CallLog, one ticket, the call ends `completed` with the voicemail outcome,
and the ticket holds exactly one of each message (call, missed-call note, voicemail,
transcript) — whatever the order and however often Twilio repeats itself.
"""

import random

import pytest

from telephony.models import CallLog
from tests.telephony.conftest import sid, twiml
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("seed", range(6))
def test_a_missed_call_replayed_three_times_and_shuffled_is_recorded_once(twilio, seed):
    call_sid, recording_sid, transcription_sid = sid("CA"), sid("RE"), sid("TR")
    # The synchronous TwiML chain keeps its order (each step answers the previous one), but
    # every step is retried.
    for _ in range(3):
        twiml(twilio.incoming_call(call_sid))
    for attempt in (0, 1):
        for _ in range(3):
            twiml(twilio.dial_result(call_sid, attempt, "no-answer"))
    callbacks = [
        lambda: twilio.status(call_sid, "ringing"),
        lambda: twilio.status(call_sid, "in-progress"),
        lambda: twilio.status(call_sid, "completed", CallDuration="61"),
        lambda: twilio.recording(call_sid, recording_sid, status=None, duration=30),
        lambda: twilio.recording(call_sid, recording_sid),
        lambda: twilio.transcription(call_sid, transcription_sid, "Call me back please"),
    ] * 3
    random.Random(seed).shuffle(callbacks)
    for send in callbacks:
        twiml(send())

    call = CallLog.objects.get(call_sid=call_sid)
    assert CallLog.objects.filter(parent__isnull=True).count() == 1
    assert Ticket.objects.count() == 1
    assert (call.status, call.outcome, call.duration) == ("completed", "voicemail", 61)
    assert (call.recording_sid, call.transcript) == (recording_sid, "Call me back please")
    messages = Message.objects.filter(ticket=call.ticket)
    assert messages.filter(external_id=recording_sid).count() == 1
    assert messages.filter(external_id=transcription_sid).count() == 1
    assert messages.filter(external_id=f"{call_sid}:missed").count() == 1
    assert messages.count() == 4  # the call, the missed-call note, the voicemail, the transcript
