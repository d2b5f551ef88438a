"""Agents replying to one ticket at the same instant, on PostgreSQL: the ticket's row lock
serializes them, so no reply, count or notification is lost and each email threads onto the
one committed before it."""

import pytest

from notifications.models import Delivery
from tests.factories import MessageFactory, TicketFactory
from tests.services import require_postgres
from tests.telephony.test_concurrency import race
from tickets.models import Message, Ticket, TicketStatus
from tickets.services import message_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_simultaneous_replies_are_all_written_counted_and_threaded_in_commit_order():
    require_postgres()
    ticket = TicketFactory(status=TicketStatus.OPEN, message_count=1)
    MessageFactory(ticket=ticket, external_id="<first@mail.example>")
    replies = 6

    results = race(
        *[
            lambda n=n: message_create(ticket=ticket, direction="outbound", body=f"reply {n}").pk
            for n in range(replies)
        ]
    )

    assert all(isinstance(result, int) for result in results), results
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.message_count == 1 + replies
    sent = Message.objects.filter(ticket=ticket, direction="outbound")
    assert sorted(sent.values_list("pk", flat=True)) == sorted(results)
    deliveries = Delivery.objects.filter(message__in=sent, channel="email")
    assert deliveries.count() == replies
    message_ids = {d.message.external_id for d in deliveries}
    parents = [d.payload["headers"]["In-Reply-To"] for d in deliveries]
    # one chain: the first reply answers the customer's email, each other one the reply
    # committed just before it
    assert sorted(parents) == sorted(["<first@mail.example>", *message_ids - {_last(deliveries)}])


def _last(deliveries) -> str:  # type: ignore[no-untyped-def]
    """The Message-ID of the reply no other reply answers (the last committed)."""
    parents = {d.payload["headers"]["In-Reply-To"] for d in deliveries}
    [last] = [d.message.external_id for d in deliveries if d.message.external_id not in parents]
    return last
