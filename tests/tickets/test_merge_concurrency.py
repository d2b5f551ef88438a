"""Agents merging at the same instant, on PostgreSQL: the two rows are locked in id order, so
A→B against B→A ends with one merge and one refusal (no deadlock, nothing half-written), and
a double submit tells the contact once."""

import pytest

from notifications.models import Delivery, DeliveryAudience
from supporthub.actors import Actor
from supporthub.exceptions import DomainError
from tests.factories import MessageFactory, TicketFactory
from tests.services import require_postgres
from tests.telephony.test_concurrency import race
from tickets import merging
from tickets.models import Message, Ticket, TicketChange, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def two(customer):
    tickets = [TicketFactory(contact=customer, status=TicketStatus.OPEN, message_count=1) for _ in range(2)]
    for ticket in tickets:
        MessageFactory(ticket=ticket, author_contact=customer)
    return tickets


def test_a_to_b_and_b_to_a_at_once_one_wins_and_the_other_is_refused(two):
    require_postgres()
    a, b = two

    results = race(
        lambda: merging.ticket_merge(source=a, target=b, actor=Actor(name="one")).pk,
        lambda: merging.ticket_merge(source=b, target=a, actor=Actor(name="two")).pk,
    )

    [won] = [result for result in results if isinstance(result, int)]
    [refused] = [result for result in results if not isinstance(result, int)]
    assert isinstance(refused, DomainError), refused  # not a deadlock error
    assert refused.code == "merge_cycle"
    winner = Ticket.objects.get(pk=won)
    loser = Ticket.objects.get(pk=b.pk if won == a.pk else a.pk)
    assert (loser.merged_into_id, loser.status) == (winner.pk, TicketStatus.CLOSED)
    assert winner.merged_into_id is None and winner.status == TicketStatus.OPEN
    assert winner.message_count == 2 == Message.objects.filter(ticket=winner).count()
    assert loser.message_count == 1 == Message.objects.filter(ticket=loser).count()  # the notice
    assert TicketChange.objects.filter(field=TicketChange.Field.MERGE).count() == 2


def test_a_double_submitted_merge_tells_the_contact_once(two):
    require_postgres()
    a, b = two

    results = race(*[lambda: merging.ticket_merge(source=a, target=b, actor=Actor(name="x")).pk] * 2)

    assert results == [b.pk, b.pk]
    assert Delivery.objects.filter(audience=DeliveryAudience.CUSTOMER, recipient=a.contact.email).count() == 1
    assert Ticket.objects.get(pk=b.pk).message_count == 2
