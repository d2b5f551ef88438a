"""An on-call person's text: what it means (escalation.replies) and what it does."""

from __future__ import annotations

import pytest

from escalation import engine, replies, services
from escalation.models import IncidentStatus
from tests.factories import UserFactory

DANA = "+14155550101"
ELI = "+14155550102"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("ACK", replies.Acknowledge()),
        ("ack", replies.Acknowledge()),
        ("ACK.", replies.Acknowledge()),
        ("ACK!", replies.Acknowledge()),
        ("  Ack \n", replies.Acknowledge()),
        ("Acknowledged", replies.Acknowledge()),
        ("acknowledge.", replies.Acknowledge()),
        ("Ack #12", replies.Acknowledge(12)),
        ("ack 12", replies.Acknowledge(12)),
        ("ACK#12", replies.Acknowledge(12)),
        ("ack # 12", replies.Acknowledge(12)),
        ("acknowledge 12", replies.Acknowledge(12)),
        ("Acknowledged #12!", replies.Acknowledge(12)),
        ("ack 12.", replies.Acknowledge(12)),
        ("ack12", replies.Unknown()),
        ("ackbar", replies.Unknown()),
        ("acked", replies.Unknown()),
        ("ack 12 please", replies.Unknown()),
        ("please ack", replies.Unknown()),
        ("ack twelve", replies.Unknown()),
        ("TAKE", replies.Take()),
        ("take.", replies.Take()),
        ("Take Night desk!", replies.Take("Night desk")),
        ("taken", replies.Unknown()),
        ("mistake", replies.Unknown()),
        ("VERIFY 482913", replies.Verify("482913")),
        ("verify 4829", replies.Unknown()),
        ("hello", replies.Unknown()),
        ("", replies.Unknown()),
    ],
)
def test_the_parser_reads_acknowledgements_however_they_are_typed(text, command):
    assert replies.parse(text) == command


def paged_incident(title: str, policy) -> object:
    incident = services.incident_trigger(reason="api", title=title, policy=policy, dedup_key=title)
    engine.escalation_tick()  # step 1 pages dana
    return incident


def test_ack_acknowledges_the_newest_incident_that_paged_the_sender(two_step_policy, dana):
    older = paged_incident("Checkout down", two_step_policy)
    newest = paged_incident("Search slow", two_step_policy)
    result = services.staff_text_receive(from_number="+1 415 555 0101", text="ACK")
    assert result is not None and result.incident == newest
    assert result.reply == f"Acknowledged incident #{newest.pk} (Search slow). Escalation stopped."
    newest.refresh_from_db()
    older.refresh_from_db()
    assert (newest.status, newest.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, dana)
    assert older.status == IncidentStatus.TRIGGERED
    assert newest.events.filter(kind="acknowledged", via="sms", actor=dana).exists()


def test_ack_with_an_id_acknowledges_that_incident(two_step_policy):
    older = paged_incident("Checkout down", two_step_policy)
    paged_incident("Search slow", two_step_policy)
    result = services.staff_text_receive(from_number=DANA, text=f"ack #{older.pk}")
    assert result is not None and result.incident == older


def test_ack_with_nothing_paging_the_sender_says_so(two_step_policy, dana):
    result = services.staff_text_receive(from_number=DANA, text="ACK")
    assert result == services.StaffTextResult(reply="Nothing to acknowledge: no open incident is paging you.")


def test_ack_of_an_incident_that_did_not_page_the_sender_is_refused(two_step_policy, eli):
    incident = paged_incident("Checkout down", two_step_policy)  # paged dana, not eli
    result = services.staff_text_receive(from_number=ELI, text=f"ACK {incident.pk}")
    assert result is not None and result.incident is None
    assert result.reply == f"Incident #{incident.pk} did not page you; nothing acknowledged."
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED
    unknown = services.staff_text_receive(from_number=ELI, text="ACK 99999999999")
    assert (
        unknown is not None
        and unknown.reply == "Incident #99999999999 did not page you; nothing acknowledged."
    )


@pytest.mark.parametrize("verb", ["acknowledge", "resolve"])
def test_ack_of_an_incident_no_longer_triggered_says_what_it_is(two_step_policy, dana, verb):
    incident = paged_incident("Checkout down", two_step_policy)
    getattr(services, f"incident_{verb}")(incident=incident, user=dana)
    incident.refresh_from_db()
    result = services.staff_text_receive(from_number=DANA, text=f"ACK {incident.pk}")
    assert result == services.StaffTextResult(reply=f"Incident #{incident.pk} is already {incident.status}.")


def test_any_other_text_from_staff_is_answered_with_the_commands(two_step_policy):
    incident = paged_incident("Checkout down", two_step_policy)
    result = services.staff_text_receive(from_number=DANA, text="on my way")
    assert result == services.StaffTextResult(reply=replies.HELP)
    assert "ACK" in replies.HELP and "ACK 12" in replies.HELP and "TAKE" in replies.HELP
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED


def test_texts_from_anyone_but_active_staff_are_not_staff_commands(two_step_policy, dana):
    paged_incident("Checkout down", two_step_policy)
    assert services.staff_text_receive(from_number="+14155550199", text="ACK") is None
    assert services.staff_text_receive(from_number="garbage", text="ACK") is None
    UserFactory(username="former", is_active=False).contact_methods.create(kind="sms", address="+14155550177")
    assert services.staff_text_receive(from_number="+14155550177", text="ACK") is None
