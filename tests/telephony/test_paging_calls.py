"""Paging calls: placed with answering machine detection and a status callback whose outcome
is recorded on the page, whatever the order or number of the callbacks.

The real twilio client places the call against a fake Twilio REST server on 127.0.0.1; the
callbacks are posted to the URL the call was given, signed with Twilio's RequestValidator.
"""

from __future__ import annotations

import itertools
from urllib.parse import parse_qs, urlsplit

import pytest

from escalation import engine
from escalation.models import EscalationPolicy, Incident, IncidentPage
from escalation.services import incident_due_now, incident_trigger
from notifications.models import Delivery
from notifications.outbox import delivery_send
from tests.notifications.fakes import FakeTwilio as FakeTwilioApi
from tests.telephony.conftest import BASE, DANA, ELI, sid, twiml, verbs

pytestmark = pytest.mark.django_db


class PagingCall:
    """Dana's paging call of a new incident, placed through the fake Twilio API."""

    def __init__(self, policy: EscalationPolicy, twilio_api: FakeTwilioApi, title: str) -> None:
        self.incident = incident_trigger(reason="manual", title=title, policy=policy)
        assert self.incident is not None
        engine.incident_advance(incident_id=self.incident.pk)
        self.page = IncidentPage.objects.get(incident=self.incident, channel="voice", recipient=DANA)
        before = len(twilio_api.requests)
        assert delivery_send(delivery_id=self.page.delivery_id).status == "sent"
        (request,) = twilio_api.requests[before:]
        self.placed = parse_qs(request.body.decode())
        callback = urlsplit(self.placed["StatusCallback"][0])
        self.path, self.query = callback.path, callback.query
        self.call_sid = Delivery.objects.get(pk=self.page.delivery_id).provider_id

    def callback(self, twilio, status: str, answered_by: str = "", **extra: str):
        params = {"CallSid": self.call_sid, "CallStatus": status, "To": DANA, **extra}
        if answered_by:
            params["AnsweredBy"] = answered_by
        return twilio.post(self.path, params, query=self.query)

    def outcome(self) -> tuple[str, str, list[str], bool]:
        """The page's outcome and verdict, the incident's call events, whether it moved on."""
        self.page.refresh_from_db()
        self.incident.refresh_from_db()
        events = list(self.incident.events.filter(kind__startswith="call_").values_list("message", flat=True))
        moved = self.incident.events.filter(kind="step_unanswered").count()
        assert moved <= 1
        return self.page.call_outcome, self.page.answered_by, events, bool(moved)


def test_a_paging_call_asks_for_answering_machine_detection_and_a_signed_status_callback(twilio_api, policy):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    assert call.placed["MachineDetection"] == ["Enable"]
    assert call.placed["StatusCallback"] == [
        f"{BASE}/webhooks/twilio/page/status?delivery={call.page.delivery_id}"
    ]
    assert sorted(call.placed["StatusCallbackEvent"]) == ["answered", "completed"]
    assert call.placed["StatusCallbackMethod"] == ["POST"]


def test_a_call_answered_by_a_person_is_recorded_and_the_step_waits(twilio, twilio_api, policy):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    due = Incident.objects.get(pk=call.incident.pk).next_step_at
    twiml(call.callback(twilio, "in-progress", "human"))
    assert verbs(twiml(call.callback(twilio, "completed", "human", CallDuration="35"))) == []

    assert call.outcome() == ("answered", "human", [f"Call to {DANA} answered by a person."], False)
    assert call.incident.next_step_at == due


def test_a_call_that_reached_voicemail_is_not_delivered_and_the_next_step_runs_at_once(
    twilio, twilio_api, policy
):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    twiml(call.callback(twilio, "completed", "machine_end_beep", CallDuration="20"))

    outcome, answered_by, events, moved = call.outcome()
    assert (outcome, answered_by, moved) == ("machine", "machine_end_beep", True)
    assert events == [f"Call to {DANA} reached voicemail or an answering machine: not delivered."]
    engine.escalation_tick()
    assert IncidentPage.objects.filter(incident=call.incident, recipient=ELI, channel="voice").exists()


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
def test_an_unanswered_call_moves_to_the_next_step(twilio, twilio_api, policy, status):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    twiml(call.callback(twilio, status))
    assert call.outcome() == (status, "", [f"Call to {DANA} not answered ({status})."], True)


def test_an_unanswered_call_of_an_earlier_step_does_not_cut_the_current_wait(twilio, twilio_api, policy):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    incident_due_now(incident=call.incident)
    engine.escalation_tick()  # eli's step ran: the incident now waits after it
    twiml(call.callback(twilio, "no-answer"))
    assert call.outcome()[3] is False


def test_a_call_to_an_acknowledged_incident_is_recorded_without_moving_on(twilio, twilio_api, policy):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    root = twiml(
        twilio.post("/webhooks/twilio/page", {"Digits": "1", "CallSid": call.call_sid}, query=call.query)
    )
    assert [say.text for say in root.iter("Say")] == ["Acknowledged. Thank you."]
    twiml(call.callback(twilio, "completed", "human"))
    assert call.outcome()[0] == "answered" and call.outcome()[3] is False


CALLBACKS = {
    "human": [("in-progress", "human"), ("completed", "human")],
    "machine": [("in-progress", "machine_start"), ("completed", "machine_start")],
    "unanswered": [("ringing", ""), ("no-answer", "")],
}


@pytest.mark.parametrize("kind", CALLBACKS)
def test_callbacks_in_any_order_and_replayed_decide_the_same_outcome(twilio, twilio_api, policy, kind):
    """Every order of a call's callbacks, each sent once to three times, ends as in order."""
    outcomes = set()
    runs = [
        [callback for callback in order for _ in range(times)]
        for order in itertools.permutations(CALLBACKS[kind])
        for times in (1, 3)
    ]
    for number, run in enumerate(runs):
        call = PagingCall(policy, twilio_api, f"Checkout is down {number}")
        for status, answered_by in run:
            twiml(call.callback(twilio, status, answered_by))
        outcome = call.outcome()
        outcomes.add((outcome[0], outcome[1], tuple(outcome[2]), outcome[3]))
        Incident.objects.filter(pk=call.incident.pk).update(status="resolved")
    assert len(outcomes) == 1, outcomes


def test_a_status_callback_with_a_bad_signature_or_parameters_is_refused(twilio, twilio_api, policy):
    call = PagingCall(policy, twilio_api, "Checkout is down")
    params = {"CallSid": call.call_sid, "CallStatus": "no-answer"}
    assert twilio.post(call.path, params, query=call.query, token="not-our-token").status_code == 403
    assert twilio.post(call.path, params, query=call.query, signature="").status_code == 403
    bad = twilio.post(call.path, {**params, "CallStatus": "exploded"}, query=call.query)
    assert bad.status_code == 400 and "CallStatus" in bad.json()["errors"]
    assert twilio.post(call.path, params, query="delivery=abc").status_code == 400
    assert call.outcome() == ("", "", [], False)


def test_a_status_callback_for_an_unknown_delivery_is_ignored(twilio):
    params = {"CallSid": sid("CA"), "CallStatus": "completed", "AnsweredBy": "human"}
    assert verbs(twiml(twilio.post("/webhooks/twilio/page/status", params, query="delivery=999999"))) == []
