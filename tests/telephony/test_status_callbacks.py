"""Status callbacks: idempotent, and statuses only move forward whatever order they arrive in."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from telephony import outcome
from telephony.models import CallLog
from tests.telephony.conftest import CALLER, ON_CALL, sid, twiml, verbs
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_sid(twilio) -> str:
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    return call_sid


def test_a_late_ringing_never_overwrites_completed(twilio, call_sid):
    twiml(twilio.status(call_sid, "completed", CallDuration="30"))
    twiml(twilio.status(call_sid, "ringing"))

    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.status, call.duration) == ("completed", 30)
    assert call.last_payload["CallStatus"] == "completed"


def test_a_late_in_progress_keeps_the_final_status_but_fills_in_the_answer_time(twilio, call_sid):
    leg_sid, leg = sid("CA"), {"ParentCallSid": call_sid, "From": CALLER, "To": ON_CALL}
    twiml(twilio.status(leg_sid, "completed", CallDuration="30", **leg))
    twiml(twilio.status(leg_sid, "in-progress", Timestamp="Wed, 25 Nov 2026 02:00:05 +0000", **leg))

    leg_log = CallLog.objects.get(call_sid=leg_sid)
    assert leg_log.status == "completed"
    assert leg_log.answered_at.isoformat() == "2026-11-25T02:00:05+00:00"


def test_the_inbound_call_is_answered_when_its_first_leg_is_answered(twilio, call_sid):
    twiml(twilio.status(call_sid, "in-progress", Timestamp="Wed, 25 Nov 2026 02:00:00 +0000"))  # the greeting
    assert CallLog.objects.get(call_sid=call_sid).answered_at is None
    for leg_sid, at in ((sid("CA"), "02:00:41"), (sid("CA"), "02:00:09")):  # a later leg reports first
        leg = {"ParentCallSid": call_sid, "From": CALLER, "To": ON_CALL}
        twiml(twilio.status(leg_sid, "answered", Timestamp=f"Wed, 25 Nov 2026 {at} +0000", **leg))

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.answered_at.isoformat() == "2026-11-25T02:00:09+00:00"
    assert call.outcome == "answered"


def test_the_first_final_status_wins(twilio, call_sid):
    twiml(twilio.status(call_sid, "completed", CallDuration="12"))
    twiml(twilio.status(call_sid, "failed"))
    assert CallLog.objects.get(call_sid=call_sid).status == "completed"


def test_statuses_in_order_move_forward(twilio, call_sid):
    seen = []
    for status in ("ringing", "in-progress", "completed"):
        twiml(twilio.status(call_sid, status))
        seen.append(CallLog.objects.get(call_sid=call_sid).status)
    assert seen == ["ringing", "in-progress", "completed"]


def test_a_replayed_status_callback_changes_nothing(twilio, call_sid):
    twiml(twilio.status(call_sid, "completed", CallDuration="30"))
    before = CallLog.objects.get(call_sid=call_sid)
    root = twiml(twilio.status(call_sid, "completed", CallDuration="30"))

    assert verbs(root) == []
    after = CallLog.objects.get(call_sid=call_sid)
    assert (after.status, after.duration, after.ended_at) == (before.status, before.duration, before.ended_at)
    assert CallLog.objects.count() == 1


def test_a_status_callback_for_an_unknown_call_is_acknowledged_and_writes_nothing(twilio):
    counts = (CallLog.objects.count(), Ticket.objects.count(), Message.objects.count())
    root = twiml(twilio.status(sid("CA"), "completed", CallDuration="3"))
    orphan_leg = twiml(twilio.status(sid("CA"), "ringing", ParentCallSid=sid("CA")))

    assert verbs(root) == verbs(orphan_leg) == []
    assert (CallLog.objects.count(), Ticket.objects.count(), Message.objects.count()) == counts


def test_forwarded_legs_arriving_out_of_order_are_logged_once_under_their_call(twilio, call_sid):
    leg_sid = sid("CA")
    leg = {"ParentCallSid": call_sid, "From": CALLER, "To": ON_CALL}
    twiml(twilio.status(leg_sid, "completed", CallDuration="61", **leg))
    twiml(twilio.status(leg_sid, "answered", **leg))
    twiml(twilio.status(leg_sid, "initiated", **leg))

    leg_log = CallLog.objects.get(call_sid=leg_sid)
    assert (leg_log.status, leg_log.duration, leg_log.to_number) == ("completed", 61, ON_CALL)
    assert leg_log.parent.call_sid == call_sid
    assert leg_log.answered_at is not None
    assert CallLog.objects.count() == 2


def test_a_caller_hanging_up_during_the_greeting_is_missed_once_no_dial_result_can_come(
    twilio, call_sid, settings
):
    twiml(twilio.status(call_sid, "completed", CallDuration="8"))
    twiml(twilio.status(call_sid, "completed", CallDuration="8"))
    assert outcome.calls_outcome_sweep() == 0  # the Dial action may still be on its way
    assert CallLog.objects.get(call_sid=call_sid).outcome == ""

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.TELEPHONY_OUTCOME_GRACE_SECONDS)):
        assert outcome.calls_outcome_sweep() == 1
        assert outcome.calls_outcome_sweep() == 0

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.outcome == "abandoned"
    missed = Message.objects.get(external_id=f"{call_sid}:missed")
    assert missed.body == f"Missed call from {CALLER}. The caller hung up before anyone answered."


def test_an_answered_leg_means_the_ended_call_was_not_missed(twilio, call_sid):
    leg = {"ParentCallSid": call_sid, "From": CALLER, "To": ON_CALL}
    leg_sid = sid("CA")
    twiml(twilio.status(leg_sid, "answered", **leg))
    twiml(twilio.status(call_sid, "completed", CallDuration="80"))
    twiml(twilio.dial_result(call_sid, 0, "completed"))

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.outcome == "answered"
    assert not Message.objects.filter(external_id=f"{call_sid}:missed").exists()


def test_a_dial_result_saying_answered_corrects_an_abandoned_guess(twilio, call_sid):
    twiml(twilio.status(call_sid, "completed", CallDuration="80"))
    twiml(twilio.dial_result(call_sid, 0, "completed"))
    assert CallLog.objects.get(call_sid=call_sid).outcome == "answered"
