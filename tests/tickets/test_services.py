from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from escalation.models import BusinessCalendar, BusinessHours, Holiday
from supporthub.actors import SYSTEM
from supporthub.exceptions import DomainError
from tests.factories import ContactFactory, TicketFactory
from tickets import services
from tickets.models import (
    STATUS_TRANSITIONS,
    Contact,
    Message,
    MessageDirection,
    SlaPolicy,
    Ticket,
    TicketPriority,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


def test_intake_writes_contact_ticket_and_first_message():
    result = services.support_request_submit(
        channel="email", name="Ann", email="Ann@Example.com", subject="Broken", message="It broke"
    )
    ticket = result.ticket
    assert ticket.reference == f"SH-{1000 + ticket.pk}"
    assert ticket.contact.email == "ann@example.com"
    assert ticket.status == TicketStatus.NEW
    message = Message.objects.get(ticket=ticket)
    assert (message.direction, message.channel, message.body) == ("inbound", "email", "It broke")
    assert message.author_contact == ticket.contact
    ticket.refresh_from_db()
    assert ticket.message_count == 1


def test_contacts_are_matched_by_email_then_phone_and_filled_in():
    first = services.contact_resolve(name="Ann", email="ann@example.com")
    again = services.contact_resolve(name="Ann B", email="ANN@example.com", phone="+14155550123")
    assert again.pk == first.pk
    assert again.phone == "+14155550123"
    assert again.name == "Ann"  # an existing name is not overwritten
    by_phone = services.contact_resolve(name="", phone="+14155550123")
    assert by_phone.pk == first.pk
    assert Contact.objects.count() == 1


def test_a_phone_already_used_by_another_contact_is_not_stolen():
    owner = services.contact_resolve(name="Owner", phone="+14155550123")
    other = services.contact_resolve(name="Other", email="other@example.com")
    services.contact_resolve(name="Other", email="other@example.com", phone="+14155550123")
    other.refresh_from_db()
    assert other.phone is None
    assert Contact.objects.get(phone="+14155550123") == owner


def test_sla_due_times_follow_the_priority_policy():
    before = timezone.now()
    ticket = services.ticket_create(
        contact=ContactFactory(), subject="x", channel="api", priority=TicketPriority.URGENT
    )
    policy = SlaPolicy.objects.get(priority=TicketPriority.URGENT)
    assert ticket.first_response_due - ticket.created_at == pytest.approx(
        timedelta(minutes=policy.first_response_minutes), abs=timedelta(seconds=1)
    )
    assert ticket.resolution_due >= before + timedelta(minutes=policy.resolution_minutes)


def test_priority_change_recomputes_due_times_from_creation():
    ticket = services.ticket_create(contact=ContactFactory(), subject="x", channel="api")
    normal_due = ticket.first_response_due
    updated = services.ticket_update(ticket=ticket, actor=SYSTEM, priority=TicketPriority.URGENT)
    assert updated.first_response_due < normal_due
    assert updated.first_response_due - updated.created_at == timedelta(minutes=15)


def test_ticket_without_sla_policy_has_no_due_times():
    SlaPolicy.objects.all().delete()
    ticket = services.ticket_create(contact=ContactFactory(), subject="x", channel="api")
    assert ticket.first_response_due is None
    assert ticket.resolution_due is None


def test_sla_targets_are_read_once_and_a_policy_change_reaches_the_next_ticket():
    contact = ContactFactory()
    services.ticket_create(contact=contact, subject="warm", channel="api")
    with CaptureQueriesContext(connection) as queries:
        services.ticket_create(contact=contact, subject="x", channel="api")
    assert not [q for q in queries if "tickets_slapolicy" in q["sql"]]

    policy = SlaPolicy.objects.get(priority=TicketPriority.NORMAL)
    policy.first_response_minutes = 7
    policy.save()
    ticket = services.ticket_create(contact=contact, subject="y", channel="api")
    assert ticket.first_response_due - ticket.created_at == timedelta(minutes=7)


def test_a_holiday_added_to_the_policys_calendar_moves_the_next_due_time():
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="UTC")
    for weekday in range(7):
        BusinessHours.objects.create(calendar=calendar, weekday=weekday, opens=time(9), closes=time(17))
    policy = SlaPolicy.objects.get(priority=TicketPriority.NORMAL)
    policy.business_calendar, policy.first_response_minutes = calendar, 60
    policy.save()
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        first = services.ticket_create(contact=ContactFactory(), subject="a", channel="api")
        Holiday.objects.create(calendar=calendar, date=monday.date(), name="Closed today")
        second = services.ticket_create(contact=ContactFactory(), subject="b", channel="api")
    assert first.first_response_due == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert second.first_response_due == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "target"),
    [(start, target) for start in TicketStatus for target in TicketStatus if start != target],
)
def test_status_transitions_follow_the_one_table(start, target):
    ticket = TicketFactory(status=start)
    allowed = target in STATUS_TRANSITIONS[start]
    if allowed:
        services.ticket_update(ticket=ticket, actor=SYSTEM, status=target)
        assert Ticket.objects.get(pk=ticket.pk).status == target
    else:
        with pytest.raises(DomainError) as excinfo:
            services.ticket_update(ticket=ticket, actor=SYSTEM, status=target)
        assert excinfo.value.field == "status"
        assert Ticket.objects.get(pk=ticket.pk).status == start


def test_resolving_stamps_resolved_at_and_reopening_clears_it():
    ticket = TicketFactory(status=TicketStatus.OPEN)
    resolved = services.ticket_update(ticket=ticket, actor=SYSTEM, status=TicketStatus.RESOLVED)
    assert resolved.resolved_at is not None
    reopened = services.ticket_update(ticket=ticket, actor=SYSTEM, status=TicketStatus.OPEN)
    assert reopened.resolved_at is None


def test_first_agent_reply_stops_the_first_response_clock_and_opens_the_ticket(agent):
    ticket = TicketFactory(status=TicketStatus.NEW)
    services.message_create(
        ticket=ticket, direction=MessageDirection.OUTBOUND, body="On it", author_user=agent
    )
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert ticket.status == TicketStatus.OPEN
    first = ticket.first_responded_at
    services.message_create(
        ticket=ticket, direction=MessageDirection.OUTBOUND, body="Again", author_user=agent
    )
    ticket.refresh_from_db()
    assert ticket.first_responded_at == first
    assert ticket.message_count == 2


def test_customer_reply_reopens_a_pending_ticket():
    ticket = TicketFactory(status=TicketStatus.PENDING)
    services.message_create(ticket=ticket, direction=MessageDirection.INBOUND, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_notes_are_internal_and_do_not_count_as_a_response(agent):
    ticket = TicketFactory(status=TicketStatus.NEW)
    note = services.message_create(
        ticket=ticket, direction=MessageDirection.NOTE, body="hmm", author_user=agent
    )
    ticket.refresh_from_db()
    assert note.channel == "internal"
    assert ticket.first_responded_at is None
    assert ticket.status == TicketStatus.NEW


def test_closed_tickets_take_no_messages():
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    with pytest.raises(DomainError):
        services.message_create(ticket=ticket, direction=MessageDirection.INBOUND, body="hello?")
    assert not Message.objects.filter(ticket=ticket).exists()


def test_unassigning_and_keeping_the_assignee_are_different(agent):
    ticket = TicketFactory(assignee=agent)
    services.ticket_update(ticket=ticket, actor=SYSTEM, subject="renamed")
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
    services.ticket_update(ticket=ticket, actor=SYSTEM, assignee=None)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
