"""Property: a call's final state does not depend on the order of its callbacks or on replays.

Every callback of a call (the call's own status, each forwarded leg's statuses, the Dial
actions, the recording action and status callback, the transcription) is fed in any order,
each one 1-3 times. The CallLog rows, the ticket's messages, the deliveries and the incidents
must be those of the in-order run. Each run is rolled back, so every run starts alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from escalation.models import Incident
from notifications.models import Delivery
from telephony.models import CallLog
from tests.telephony.conftest import CALLER, NEXT_ON_CALL, ON_CALL, sid, twiml
from tickets.models import Message

pytestmark = pytest.mark.django_db

CALL, LEG_A, LEG_B = sid("CA"), sid("CA"), sid("CA")
RECORDING, TRANSCRIPTION = sid("RE"), sid("TR")


def at(second: int) -> str:
    return f"Wed, 25 Nov 2026 03:00:{second:02d} +0000"


def callbacks(twilio: Any, scenario: str) -> dict[str, Callable[[], Any]]:
    """The callbacks of a call that rings NEXT_ON_CALL, then ON_CALL, in the order Twilio sends them."""
    a = {"ParentCallSid": CALL, "From": CALLER, "To": NEXT_ON_CALL}
    b = {"ParentCallSid": CALL, "From": CALLER, "To": ON_CALL}
    first_unanswered = {
        "A initiated": lambda: twilio.status(LEG_A, "initiated", Timestamp=at(1), **a),
        "A ringing": lambda: twilio.status(LEG_A, "ringing", Timestamp=at(2), **a),
        "A no-answer": lambda: twilio.status(LEG_A, "no-answer", Timestamp=at(22), **a),
        "dial 0 no-answer": lambda: twilio.dial_result(CALL, 0, "no-answer"),
        "B initiated": lambda: twilio.status(LEG_B, "initiated", Timestamp=at(23), **b),
        "B ringing": lambda: twilio.status(LEG_B, "ringing", Timestamp=at(24), **b),
    }
    if scenario == "answered":
        return first_unanswered | {
            "B answered": lambda: twilio.status(LEG_B, "answered", Timestamp=at(30), **b),
            "B completed": lambda: twilio.status(
                LEG_B, "completed", Timestamp=at(50), CallDuration="20", **b
            ),
            "dial 1 completed": lambda: twilio.dial_result(CALL, 1, "completed", DialCallDuration="20"),
            "call completed": lambda: twilio.status(CALL, "completed", Timestamp=at(51), CallDuration="51"),
        }
    if scenario == "voicemail":
        return first_unanswered | {
            "B no-answer": lambda: twilio.status(LEG_B, "no-answer", Timestamp=at(44), **b),
            "dial 1 no-answer": lambda: twilio.dial_result(CALL, 1, "no-answer"),
            "record action": lambda: twilio.recording(CALL, RECORDING, status=None, duration=12),
            "recording status": lambda: twilio.recording(CALL, RECORDING, duration=12),
            "transcription": lambda: twilio.transcription(CALL, TRANSCRIPTION, "Call me back"),
            "call completed": lambda: twilio.status(CALL, "completed", Timestamp=at(59), CallDuration="59"),
        }
    assert scenario == "abandoned"  # the caller hangs up while the first number rings
    return {
        "A initiated": first_unanswered["A initiated"],
        "A ringing": first_unanswered["A ringing"],
        "A canceled": lambda: twilio.status(LEG_A, "canceled", Timestamp=at(9), **a),
        "dial 0 canceled": lambda: twilio.dial_result(CALL, 0, "canceled"),
        "call completed": lambda: twilio.status(CALL, "completed", Timestamp=at(9), CallDuration="9"),
    }


CALL_FIELDS = ("status", "outcome", "forwarded_to", "dial_targets", "dial_attempts", "dial_results",
               "answered_at", "ended_at", "duration", "answered_by", "recording_sid", "recording_url",
               "recording_duration", "transcript", "ticket_pending")  # fmt: skip


def final_state(twilio: Any, scenario: str, order: list[str]) -> dict[str, Any]:
    """Run the call with its callbacks in `order`; its final state (the run is rolled back)."""
    sends = callbacks(twilio, scenario)
    with transaction.atomic():
        twiml(twilio.incoming_call(CALL))
        for name in order:
            twiml(sends[name]())
        call = CallLog.objects.get(call_sid=CALL)
        assert call.ticket is not None
        reference = str(call.ticket.reference)
        state = {
            "call": {field: getattr(call, field) for field in CALL_FIELDS},
            "legs": sorted(
                (*leg, ticket == call.ticket_id)
                for *leg, ticket in CallLog.objects.filter(parent=call).values_list(
                    "call_sid", "status", "to_number", "answered_at", "ended_at", "duration", "ticket"
                )
            ),
            "messages": sorted(
                (direction, channel, key, str(body).replace(reference, "<ref>"))
                for direction, channel, key, body in Message.objects.filter(ticket=call.ticket).values_list(
                    "direction", "channel", "external_id", "body"
                )
            ),
            "deliveries": sorted(
                (channel, recipient, key, str(subject).replace(reference, "<ref>"), status)
                for channel, recipient, key, subject, status in Delivery.objects.filter(
                    ticket=call.ticket
                ).values_list("channel", "recipient", "idempotency_key", "subject", "status")
            ),
            "incidents": sorted(
                Incident.objects.filter(ticket=call.ticket).values_list(
                    "reason", "dedup_key", "status", "title"
                )
            ),
        }
        transaction.set_rollback(True)
    return state


@pytest.fixture
def two_numbers(on_call_chain, settings):
    on_call_chain(NEXT_ON_CALL)  # then SUPPORT_FORWARD_NUMBER (ON_CALL)
    settings.TELEPHONY_DIAL_ATTEMPTS = 1
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"


@pytest.mark.parametrize("scenario", ["answered", "voicemail", "abandoned"])
def test_any_order_and_any_replays_of_a_calls_callbacks_give_the_in_order_result(
    twilio, two_numbers, scenario
):
    names = list(callbacks(twilio, scenario))
    expected = final_state(twilio, scenario, names)
    assert expected["call"]["outcome"] == scenario
    missed = [m for m in expected["messages"] if m[2] == f"{CALL}:missed"]
    assert len(missed) == (scenario != "answered")
    assert len(expected["incidents"]) == (scenario != "answered")

    @hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def any_order(data: st.DataObject) -> None:
        replays = data.draw(st.lists(st.integers(1, 3), min_size=len(names), max_size=len(names)))
        sent = [name for name, times in zip(names, replays, strict=True) for _ in range(times)]
        order = data.draw(st.permutations(sent))
        assert final_state(twilio, scenario, order) == expected

    any_order()
