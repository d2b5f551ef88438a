"""Every path that changes a ticket's status goes through the one transition: the change is
recorded with its actor, the resolution clock pauses while pending and resumes after, and
escalation hears of it. One test per path."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalation.models import Incident, IncidentStatus, TriggerReason
from escalation.services import incident_trigger
from tests.factories import ContactFactory, TicketFactory
from tests.notifications.test_inbound_email import SECRET, post, raw_email
from tickets import services, sla
from tickets.models import Message, Ticket, TicketChange, TicketStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def name(user):
    return user.get_full_name() or user.get_username()


def status_changes(ticket):
    return [
        (change.old_value, change.new_value, change.actor_label)
        for change in TicketChange.objects.filter(ticket=ticket, field=TicketChange.Field.STATUS)
    ]


@pytest.fixture
def pending(db):
    """An open ticket put pending on the customer an hour ago: its resolution clock is paused."""
    start = timezone.now() - timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        ticket = services.ticket_create(
            contact=ContactFactory(name="Carol", email="carol@example.com", phone="+14155550123"),
            subject="Printer",
            channel="email",
        )
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.PENDING, sla_paused_at=start + timedelta(hours=1)
    )
    ticket.refresh_from_db()
    return ticket


def assert_resumed(ticket):
    """The pause ended: the due time moved on by the time paused (about an hour)."""
    due_before = ticket.resolution_due
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.sla_paused_at is None
    moved = ticket.resolution_due - due_before
    assert timedelta(minutes=59) < moved < timedelta(minutes=61)


def test_the_api_records_the_api_keys_name_and_pauses_the_clock(api):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"status": "pending"}, format="json")
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is not None
    assert status_changes(ticket) == [("open", "pending", "API key “tests”")]


def test_the_api_records_the_logged_in_agent(agent):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(agent)
    ticket = TicketFactory(status=TicketStatus.OPEN)
    assert client.patch(f"/v1/tickets/{ticket.pk}", {"status": "resolved"}, format="json").status_code == 200
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    assert status_changes(ticket) == [("open", "resolved", name(agent))]


def test_the_admin_form_records_the_agent_and_resumes_the_clock(agent_client, agent, pending):
    page = agent_client.get(f"{CHANGELIST}{pending.pk}/change/")
    response = agent_client.post(
        f"{CHANGELIST}{pending.pk}/change/",
        {
            "subject": pending.subject,
            "status": "open",
            "priority": pending.priority,
            "assignee": "",
            "seen_updated_at": page.context["adminform"].form["seen_updated_at"].value(),
        },
    )
    assert response.status_code == 302, response.content
    assert_resumed(pending)
    assert status_changes(pending) == [("pending", "open", name(agent))]


def test_the_bulk_action_records_the_agent_for_each_ticket(agent_client, agent):
    tickets = TicketFactory.create_batch(2, status=TicketStatus.OPEN)
    agent_client.post(
        CHANGELIST,
        {
            "action": "change_status",
            "_selected_action": [t.pk for t in tickets],
            "apply": "1",
            "status": "pending",
        },
    )
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.sla_paused_at is not None
        assert status_changes(ticket) == [("open", "pending", name(agent))]


def test_a_customers_email_reply_reopens_a_pending_ticket_through_the_transition(settings, pending):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    raw = raw_email(subject=f"Re: [{pending.reference}] Printer", sender="Carol <carol@example.com>")
    assert post(raw).status_code == 200
    assert_resumed(pending)
    assert status_changes(pending) == [("pending", "open", "Carol (customer)")]


def test_a_resumed_ticket_breaches_its_resolution_clock_when_due(settings, pending):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    post(raw_email(subject=f"Re: [{pending.reference}] Printer", sender="carol@example.com"))
    pending.refresh_from_db()
    with time_machine.travel(pending.resolution_due + timedelta(minutes=1), tick=False):
        sla.sla_breach_sweep()
    pending.refresh_from_db()
    assert pending.resolution_breached


def test_a_customer_message_through_the_api_reopens_a_resolved_ticket(api):
    ticket = TicketFactory(status=TicketStatus.RESOLVED, resolved_at=timezone.now())
    body = {"ticket": ticket.pk, "direction": "inbound", "body": "Still broken"}
    assert api.post("/v1/messages", body, format="json").status_code == 201
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.OPEN, None)
    assert status_changes(ticket) == [("resolved", "open", "API key “tests”")]


def test_the_first_agent_reply_opens_a_new_ticket_as_that_agent(agent):
    ticket = TicketFactory(status=TicketStatus.NEW)
    services.message_create(ticket=ticket, direction="outbound", body="On it", author_user=agent)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.first_responded_at is not None
    assert status_changes(ticket) == [("new", "open", name(agent))]


def test_a_note_changes_no_status(agent):
    ticket = TicketFactory(status=TicketStatus.NEW)
    services.message_create(ticket=ticket, direction="note", body="VIP", author_user=agent)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW and status_changes(ticket) == []
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_resolving_a_ticket_resolves_its_open_incident(api):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    incident = incident_trigger(ticket=ticket, reason=TriggerReason.MANUAL)
    assert incident is not None
    api.patch(f"/v1/tickets/{ticket.pk}", {"status": "resolved"}, format="json")
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED


def test_an_illegal_transition_changes_nothing_and_records_nothing(api):
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"status": "open"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["status"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED and status_changes(ticket) == []
