"""Property tests for the ticket rules: status transitions and SLA due-time arithmetic."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supporthub.actors import SYSTEM
from supporthub.exceptions import DomainError
from tests.factories import ContactFactory
from tickets import services
from tickets.models import STATUS_TRANSITIONS, SlaPolicy, Ticket, TicketPriority, TicketStatus

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
statuses = st.sampled_from(list(TicketStatus))
priorities = st.sampled_from(list(TicketPriority))


@PROPERTY_SETTINGS
@given(requests=st.lists(statuses, max_size=8))
def test_any_sequence_of_status_requests_only_ever_follows_the_table(requests):
    ticket = services.ticket_create(contact=ContactFactory(), subject="p", channel="api")
    current = TicketStatus.NEW
    was_closed = False
    for wanted in requests:
        legal = wanted == current or wanted in STATUS_TRANSITIONS[current]
        try:
            services.ticket_update(ticket=ticket, actor=SYSTEM, status=wanted)
        except DomainError:
            assert not legal
        else:
            assert legal
            current = wanted
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.status == current
        # resolved_at is set exactly when the ticket is resolved or closed
        assert (stored.resolved_at is not None) == (current in (TicketStatus.RESOLVED, TicketStatus.CLOSED))
        # closed is final: once there, every later request leaves it closed
        assert not was_closed or current == TicketStatus.CLOSED
        was_closed = current == TicketStatus.CLOSED


@PROPERTY_SETTINGS
@given(first=priorities, changes=st.lists(priorities, max_size=5))
def test_due_times_depend_only_on_the_final_priority_and_the_creation_time(first, changes):
    ticket = services.ticket_create(contact=ContactFactory(), subject="p", channel="api", priority=first)
    for priority in changes:
        ticket = services.ticket_update(ticket=ticket, actor=SYSTEM, priority=priority)
    final = changes[-1] if changes else first
    policy = SlaPolicy.objects.get(priority=final)
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.priority == final
    assert stored.first_response_due == stored.created_at + timedelta(minutes=policy.first_response_minutes)
    assert stored.resolution_due == stored.created_at + timedelta(minutes=policy.resolution_minutes)
