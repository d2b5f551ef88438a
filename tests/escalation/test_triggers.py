"""Incidents open from tickets (created or raised to urgent), missed calls and the API, never twice."""

from __future__ import annotations

import pytest

from escalation import services
from escalation.models import EscalationPolicy, Incident, IncidentStatus
from supporthub.actors import SYSTEM
from tests.factories import ContactFactory, TicketFactory
from tickets import services as ticket_services
from tickets.models import TicketPriority


@pytest.fixture
def contact(db):
    return ContactFactory()


def test_an_urgent_ticket_opens_an_incident_on_the_default_policy(contact, default_policy):
    ticket = ticket_services.ticket_create(
        contact=contact, subject="Site down", channel="email", priority=TicketPriority.URGENT
    )
    incident = Incident.objects.get(ticket=ticket)
    assert incident.policy == default_policy and incident.reason == "urgent_ticket"
    assert incident.status == IncidentStatus.TRIGGERED
    assert incident.title.endswith("Site down")
    assert [s["kind"] for s in incident.policy_snapshot["steps"]] == ["schedule", "team_email", "slack"]


def test_a_normal_ticket_opens_no_incident(contact, default_policy):
    ticket_services.ticket_create(contact=contact, subject="Question", channel="email")
    assert not Incident.objects.exists()


def test_raising_a_ticket_to_urgent_opens_one_incident_however_often(contact, default_policy):
    ticket = ticket_services.ticket_create(contact=contact, subject="Slow", channel="email")
    ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, priority=TicketPriority.URGENT)
    ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, priority=TicketPriority.HIGH)
    ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, priority=TicketPriority.URGENT)
    incident = Incident.objects.get(ticket=ticket)
    assert incident.events.filter(kind="retriggered").count() == 1


def test_after_resolving_a_new_trigger_opens_a_new_incident(contact, default_policy):
    ticket = TicketFactory(priority=TicketPriority.URGENT)
    first = services.incident_trigger(ticket=ticket, reason="urgent_ticket")
    services.incident_resolve(incident=first)
    second = services.incident_trigger(ticket=ticket, reason="urgent_ticket")
    assert second is not None and second.pk != first.pk


def test_switching_urgent_ticket_incidents_off_opens_none(contact, default_policy):
    EscalationPolicy.objects.update(on_urgent_ticket=False)
    ticket_services.ticket_create(
        contact=contact, subject="Site down", channel="email", priority=TicketPriority.URGENT
    )
    assert not Incident.objects.exists()


def test_a_missed_call_opens_an_incident_deduplicated_by_key(db, default_policy):
    ticket = TicketFactory(channel="phone")
    first = services.incident_trigger(ticket=ticket, reason="missed_call", dedup_key="call:CA123")
    again = services.incident_trigger(
        ticket=None, reason="missed_call", dedup_key="call:CA123", title="Missed call"
    )
    assert first == again
    assert Incident.objects.count() == 1


def test_a_trigger_without_title_or_ticket_is_refused(db, default_policy):
    from supporthub.exceptions import DomainError

    with pytest.raises(DomainError) as caught:
        services.incident_trigger(reason="api")
    assert caught.value.field == "title"


def test_the_database_refuses_a_second_open_incident_for_a_ticket(db, default_policy):
    from django.db import IntegrityError, transaction

    ticket = TicketFactory()
    services.incident_trigger(ticket=ticket, reason="api")
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="dup", ticket=ticket)


def test_resolving_the_ticket_resolves_its_open_incident(contact, default_policy):
    ticket = ticket_services.ticket_create(
        contact=contact, subject="Site down", channel="email", priority=TicketPriority.URGENT
    )
    ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, status="resolved")
    incident = Incident.objects.get(ticket=ticket)
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.events.filter(kind="resolved", via="ticket").exists()
