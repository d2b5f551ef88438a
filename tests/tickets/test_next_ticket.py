"""'Next ticket': an agent takes the unassigned ticket whose SLA falls due first, and two agents
asking at once never get the same one."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import TicketFactory, UserFactory
from tests.services import require_postgres
from tests.telephony.test_concurrency import race
from tickets.models import Ticket, TicketChange, TicketPriority, TicketStatus
from tickets.services import ticket_take_next

CHANGELIST = "/admin/tickets/ticket/"


NOW = timezone.now()


def due_in(minutes: int) -> object:
    return NOW + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_the_running_clock_due_first_is_taken_first_and_assigned_with_history(agent, other_agent):
    later = TicketFactory(subject="normal, reply due in 2 h", first_response_due=due_in(120))
    soon = TicketFactory(
        subject="urgent, reply due in 10 min", priority=TicketPriority.URGENT, first_response_due=due_in(10)
    )
    answered = TicketFactory(
        subject="answered, resolution due in 5 min",
        status=TicketStatus.OPEN,
        first_response_due=due_in(-60),
        first_responded_at=due_in(-90),
        resolution_due=due_in(5),
    )
    tie_urgent = TicketFactory(
        subject="tie, urgent", priority=TicketPriority.URGENT, first_response_due=due_in(120)
    )
    no_target = TicketFactory(subject="no SLA target")
    TicketFactory(subject="someone's", assignee=other_agent, first_response_due=due_in(1))
    TicketFactory(subject="pending", status=TicketStatus.PENDING, first_response_due=due_in(1))
    TicketFactory(subject="resolved", status=TicketStatus.RESOLVED, first_response_due=due_in(1))

    taken = [ticket_take_next(agent=agent) for _ in range(6)]

    assert [t and t.pk for t in taken] == [answered.pk, soon.pk, tie_urgent.pk, later.pk, no_target.pk, None]
    assert set(
        Ticket.objects.filter(pk__in=[t.pk for t in taken if t]).values_list("assignee", flat=True)
    ) == {agent.pk}
    change = TicketChange.objects.get(ticket=answered, field="assignee")
    assert (change.actor, change.old_value, change.new_value) == (agent, "", str(agent))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_agent_skips_the_ticket_another_is_taking_instead_of_waiting_or_sharing_it():
    require_postgres()
    first = TicketFactory(first_response_due=due_in(10))
    second = TicketFactory(first_response_due=due_in(20))
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    alice_holds, bob_done = threading.Event(), threading.Event()
    taken: dict[str, object] = {}

    def alice_takes_and_holds() -> None:
        try:
            with transaction.atomic():
                taken["alice"] = ticket_take_next(agent=alice)
                alice_holds.set()
                # Her transaction, and its lock, stay open until Bob has his ticket; had he
                # to wait for her lock, this would give up and report it.
                taken["bob_done_while_alice_held"] = bob_done.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=alice_takes_and_holds)
    thread.start()
    assert alice_holds.wait(timeout=10)
    taken["bob"] = ticket_take_next(agent=bob)
    bob_done.set()
    thread.join(timeout=20)

    assert taken["bob_done_while_alice_held"] is True
    assert (taken["alice"].pk, taken["bob"].pk) == (first.pk, second.pk)  # type: ignore[attr-defined]
    assert dict(Ticket.objects.values_list("pk", "assignee__username")) == {
        first.pk: "alice",
        second.pk: "bob",
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_agents_asking_at_the_same_instant_each_get_a_different_ticket():
    require_postgres()
    tickets = [TicketFactory(first_response_due=due_in(n)) for n in range(1, 6)]
    agents = [UserFactory(username=f"racer{n}") for n in range(6)]

    results = race(*[lambda agent=agent: ticket_take_next(agent=agent) for agent in agents])

    got = [result.pk for result in results if isinstance(result, Ticket)]
    assert sorted(got) == sorted(ticket.pk for ticket in tickets), results
    assert results.count(None) == 1  # five tickets for six agents
    assignees = Ticket.objects.values_list("assignee", flat=True)
    assert len(set(assignees)) == 5 and None not in assignees


@pytest.mark.django_db
def test_the_next_ticket_button_takes_and_opens_the_ticket(agent_client, agent):
    assert 'action="/admin/tickets/ticket/next/"' in agent_client.get(CHANGELIST).content.decode()
    ticket = TicketFactory(first_response_due=due_in(10))
    response = agent_client.post(f"{CHANGELIST}next/")
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{ticket.pk}/change/"
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent

    empty = agent_client.post(f"{CHANGELIST}next/", follow=True)
    assert "No unassigned ticket is waiting." in empty.content.decode()
    assert agent_client.get(f"{CHANGELIST}next/").status_code == 405
