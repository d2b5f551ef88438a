"""A call's outcome is decided once, from all of its callbacks, whatever order they arrive in."""

import pytest

from escalation.models import Incident
from notifications.models import Delivery
from telephony.models import CallLog
from tests.telephony.conftest import CALLER, ON_CALL, sid, twiml
from tickets.models import Message

pytestmark = pytest.mark.django_db

LEG_ANSWERED_AT = "Wed, 25 Nov 2026 01:40:07 +0000"


@pytest.fixture
def team_channels(settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"


def answered_call_callbacks(twilio, call_sid: str, leg_sid: str) -> dict:
    leg = {"ParentCallSid": call_sid, "From": CALLER, "To": ON_CALL}
    return {
        "leg initiated": lambda: twilio.status(leg_sid, "initiated", **leg),
        "leg ringing": lambda: twilio.status(leg_sid, "ringing", **leg),
        "leg answered": lambda: twilio.status(leg_sid, "answered", Timestamp=LEG_ANSWERED_AT, **leg),
        "leg completed": lambda: twilio.status(leg_sid, "completed", CallDuration="95", **leg),
        "dial completed": lambda: twilio.dial_result(call_sid, 0, "completed", DialCallDuration="95"),
        "parent completed": lambda: twilio.status(call_sid, "completed", CallDuration="101"),
    }


def assert_answered_and_nobody_paged(call_sid: str) -> None:
    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.status, call.outcome, call.forwarded_to) == ("completed", "answered", ON_CALL)
    notes = list(Message.objects.filter(ticket=call.ticket, direction="note").values_list("body", flat=True))
    assert notes == [f"Call answered by {ON_CALL}."]
    assert not Incident.objects.exists()
    assert not Delivery.objects.filter(message__external_id=f"{call_sid}:missed").exists()
    assert not Delivery.objects.filter(idempotency_key__contains="missed").exists()


def test_the_parent_completing_before_the_dial_action_completes_is_an_answered_call(twilio, team_channels):
    call_sid, leg_sid = sid("CA"), sid("CA")
    twiml(twilio.incoming_call(call_sid))
    callbacks = answered_call_callbacks(twilio, call_sid, leg_sid)
    for name in ("leg initiated", "leg ringing", "parent completed", "dial completed"):
        twiml(callbacks[name]())
    assert_answered_and_nobody_paged(call_sid)


def test_every_callback_of_an_answered_call_in_reverse_order_is_an_answered_call(twilio, team_channels):
    call_sid, leg_sid = sid("CA"), sid("CA")
    twiml(twilio.incoming_call(call_sid))
    for send in reversed(answered_call_callbacks(twilio, call_sid, leg_sid).values()):
        twiml(send())
    assert_answered_and_nobody_paged(call_sid)
