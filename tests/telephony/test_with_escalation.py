"""The call flow with the real on-call schedule and incidents (escalation app)."""

import pytest

from escalation import engine, replies
from escalation.models import Incident, IncidentPage, IncidentStatus, Schedule
from escalation.services import incident_trigger
from telephony.models import CallLog
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.telephony.conftest import ON_CALL, sid, twiml, verbs
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

DANA = "+14155550101"
ELI = "+14155550102"


@pytest.fixture
def rota(db, settings):
    """The seeded "Support" schedule: dana on call, eli on the layer below."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    schedule = Schedule.objects.get(name="Support")
    dana, eli = make_oncall_user("dana", DANA), make_oncall_user("eli", ELI)
    add_layer(schedule, [eli], level=1)
    add_layer(schedule, [dana], level=2)  # the higher layer is the one on call
    return dana, eli


def test_a_call_rings_whoever_is_on_call_then_the_next_layer_then_the_forward_number(twilio, rota):
    call_sid = sid("CA")
    root = twiml(twilio.incoming_call(call_sid))

    assert root.find("Dial/Number").text == DANA
    assert CallLog.objects.get(call_sid=call_sid).dial_targets == [DANA, ELI, ON_CALL]
    assert twiml(twilio.dial_result(call_sid, 0, "no-answer")).find("Dial/Number").text == ELI


def test_a_missed_call_opens_one_incident_on_the_ticket(twilio, rota):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "no-answer"))
    twiml(twilio.dial_result(call_sid, 1, "busy"))
    for _ in range(2):  # a retried Dial action opens nothing more
        assert "Record" in verbs(twiml(twilio.dial_result(call_sid, 2, "no-answer")))

    call = CallLog.objects.get(call_sid=call_sid)
    incident = Incident.objects.get()
    assert (incident.ticket, incident.reason, incident.status) == (call.ticket, "missed_call", "triggered")
    assert incident.dedup_key == f"call:{call_sid}"
    assert incident.title.startswith("Missed call from")


def test_an_answered_call_opens_no_incident(twilio, rota):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "completed"))
    twiml(twilio.status(call_sid, "completed", CallDuration="60"))
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("text", "acknowledged", "answer"),
    [
        ("ACK", "newest", "Acknowledged incident #{newest} (Search is slow). Escalation stopped."),
        ("ack", "newest", "Acknowledged incident #{newest} (Search is slow). Escalation stopped."),
        ("ACK.", "newest", "Acknowledged incident #{newest} (Search is slow). Escalation stopped."),
        ("Ack #{older}", "older", "Acknowledged incident #{older} (Checkout is down). Escalation stopped."),
        (
            "acknowledge {older}",
            "older",
            "Acknowledged incident #{older} (Checkout is down). Escalation stopped.",
        ),
        ("TAKE", None, "dana is already on call on Support."),
        ("pizza", None, replies.HELP),
    ],
)
def test_an_on_call_persons_text_is_a_command_and_never_a_ticket(twilio, rota, text, acknowledged, answer):
    ids = {
        "older": incident_trigger(reason="manual", title="Checkout is down", dedup_key="older").pk,
        "newest": incident_trigger(reason="manual", title="Search is slow", dedup_key="newest").pk,
    }
    engine.escalation_tick()  # both page dana, the Support on-call person

    root = twiml(twilio.sms(sid("SM"), text.format(**ids), sender=DANA))

    assert [reply.text for reply in root.iter("Message")] == [answer.format(**ids)]
    acknowledged_ids = set(
        Incident.objects.filter(status=IncidentStatus.ACKNOWLEDGED).values_list("pk", flat=True)
    )
    assert acknowledged_ids == ({ids[acknowledged]} if acknowledged else set())
    assert not Ticket.objects.exists() and not Message.objects.exists()


def test_a_replayed_text_from_on_call_staff_answers_the_same_and_acts_once(twilio, rota):
    older = incident_trigger(reason="manual", title="Checkout is down", dedup_key="older")
    newest = incident_trigger(reason="manual", title="Search is slow", dedup_key="newest")
    engine.escalation_tick()
    message_sid = sid("SM")

    first = twiml(twilio.sms(message_sid, "ACK", sender=DANA))
    replay = twiml(twilio.sms(message_sid, "ACK", sender=DANA))

    assert [m.text for m in replay.iter("Message")] == [m.text for m in first.iter("Message")]
    assert Incident.objects.get(pk=newest.pk).status == IncidentStatus.ACKNOWLEDGED
    assert Incident.objects.get(pk=older.pk).status == IncidentStatus.TRIGGERED


def test_an_on_call_persons_stop_is_no_ticket_and_gets_no_reply(twilio, rota):
    root = twiml(twilio.sms(sid("SM"), "STOP", sender=ELI))
    assert verbs(root) == []
    assert not Ticket.objects.exists()


def test_pressing_1_on_a_paging_call_acknowledges_the_incident(twilio, rota):
    incident = incident_trigger(reason="manual", title="Checkout is down")
    engine.escalation_tick()
    page = IncidentPage.objects.filter(incident=incident, channel="voice", delivery_id__isnull=False).first()
    assert page is not None

    query = f"delivery={page.delivery_id}"
    root = twiml(twilio.post("/webhooks/twilio/page", {"Digits": "1", "CallSid": sid("CA")}, query=query))
    assert verbs(root) == ["Say", "Hangup"]
    assert "Acknowledged" in root.find("Say").text
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED


@pytest.mark.parametrize("attempts", [2, 4])
def test_the_forward_number_is_rung_before_voicemail_and_sms_only_numbers_never(
    twilio, rota, settings, attempts
):
    settings.TELEPHONY_DIAL_ATTEMPTS = attempts
    schedule = Schedule.objects.get(name="Support")
    sms_only = make_oncall_user("gus")
    sms_only.contact_methods.create(kind="sms", address="+14155550103")
    add_layer(schedule, [sms_only], level=0)
    call_sid = sid("CA")
    rung = [twiml(twilio.incoming_call(call_sid)).find("Dial/Number").text]
    while (root := twiml(twilio.dial_result(call_sid, len(rung) - 1, "no-answer"))).find("Dial") is not None:
        rung.append(root.find("Dial/Number").text)

    assert rung == [DANA, ELI, ON_CALL]
    assert "Record" in verbs(root)
    assert CallLog.objects.get(call_sid=call_sid).outcome == "voicemail"


def test_the_pages_and_the_spoken_acknowledgement_of_a_missed_call_have_no_doubled_stops(twilio, rota):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    twiml(twilio.dial_result(call_sid, 0, "canceled"))
    engine.escalation_tick()
    pages = IncidentPage.objects.filter(incident__dedup_key=f"call:{call_sid}")
    voice = pages.filter(channel="voice", delivery_id__isnull=False).first()
    assert voice is not None
    reference = CallLog.objects.get(call_sid=call_sid).ticket.reference

    texts = [page.body for page in pages]
    root = twiml(
        twilio.post(
            "/webhooks/twilio/page",
            {"Digits": "1", "CallSid": sid("CA")},
            query=f"delivery={voice.delivery_id}",
        )
    )
    texts.append(root.findtext("Say", ""))

    assert {page.channel for page in pages} >= {"sms", "voice"}
    assert f"hung up before anyone answered. Ticket {reference}." in voice.body
    assert texts[-1] == "Acknowledged. Thank you."
    assert [text for text in texts if ".." in text] == []
