"""Tickets, contacts and their console pages: SQL statements do not grow with the rows shown.

The /v1 ticket and message lists and details and the ticket changelist are counted in
test_tickets_api.py, test_messages_api.py and test_console.py.
"""

import pytest

from supporthub.actors import Actor
from tests.factories import ContactFactory, MessageFactory, TicketFactory, UserFactory
from tests.query_counts import assert_constant
from tickets import services
from tickets.models import AgentShift, CannedReply, SlaPolicy, TicketChange, TicketStatus

pytestmark = pytest.mark.django_db


def _change(i: int) -> None:
    ticket = TicketFactory()
    TicketChange.objects.create(
        ticket=ticket, field="status", old_value="new", new_value="open", actor=UserFactory()
    )


def _shift(i: int) -> None:
    agent = UserFactory(username=f"shift{i}")
    AgentShift.objects.create(user=agent, on_shift=True)
    TicketFactory(assignee=agent)


@pytest.mark.parametrize(
    ("model", "add"),
    [
        ("contact", lambda i: ContactFactory()),
        ("cannedreply", lambda i: CannedReply.objects.create(title=f"Reply {i}", body="Hello {{ name }}")),
        ("ticketchange", _change),
        ("agentshift", _shift),
    ],
)
def test_each_tickets_changelist_is_constant_in_rows(admin_client, model, add):
    assert_constant(admin_client, f"/admin/tickets/{model}/", add)


def test_the_sla_policy_changelist_is_constant_in_rows(admin_client):
    """One policy per priority: from one row to all four."""
    kept = list(SlaPolicy.objects.order_by("priority"))
    SlaPolicy.objects.exclude(pk=kept[0].pk).delete()
    restore = iter(kept[1:])

    def add(i: int) -> None:
        policy = next(restore, None)
        if policy is not None:
            policy.save(force_insert=True)

    assert_constant(admin_client, "/admin/tickets/slapolicy/", add)


def test_a_tickets_change_page_is_constant_in_its_messages_and_history(admin_client):
    agent = UserFactory(username="agent.page")
    ticket = TicketFactory(assignee=agent)

    def add(i: int) -> None:
        MessageFactory(ticket=ticket, direction="inbound", author_contact=ticket.contact)
        MessageFactory(ticket=ticket, direction="outbound", author_user=agent, channel="email")
        services.ticket_update(ticket=ticket, actor=Actor.of(agent), priority=1 + i % 4)

    assert_constant(admin_client, f"/admin/tickets/ticket/{ticket.pk}/change/", add)


def test_a_contacts_change_page_is_constant_in_its_tickets(admin_client):
    contact = ContactFactory()
    assert_constant(
        admin_client, f"/admin/tickets/contact/{contact.pk}/change/", lambda i: TicketFactory(contact=contact)
    )


def test_the_ticket_changelist_is_constant_in_rows_of_every_status(admin_client):
    statuses = list(TicketStatus)
    assert_constant(
        admin_client,
        "/admin/tickets/ticket/?status=all",
        lambda i: TicketFactory(status=statuses[i % len(statuses)], assignee=UserFactory()),
    )
