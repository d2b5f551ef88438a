"""Rows of several tables written by one INSERT statement (supporthub.rows)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from notifications.models import Delivery
from supporthub.db import next_ids
from supporthub.rows import rows_insert
from tests.factories import ContactFactory
from tests.services import require_postgres
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def new_group(contact, *, key="k1"):
    """A ticket, its first message and a delivery about both, with ids taken first."""
    ticket_id, message_id = next_ids(Ticket, Message)
    ticket = Ticket(pk=ticket_id, reference=f"T-{ticket_id}", subject="s", channel="api", contact=contact)
    message = Message(pk=message_id, ticket=ticket, direction="inbound", channel="api", body="b")
    delivery = Delivery(
        channel="email", recipient="a@example.com", body="b", payload={"html": "<p>b</p>"},
        ticket=ticket, message=message, idempotency_key=key,
    )  # fmt: skip
    return ticket, message, delivery


def test_a_group_is_one_statement_and_reads_back_as_the_orm_wrote_it():
    require_postgres()
    contact = ContactFactory()
    ticket, message, delivery = new_group(contact)
    with CaptureQueriesContext(connection) as queries:
        rows_insert(ticket, message, delivery)
    assert len(queries) == 1 and queries[0]["sql"].startswith("WITH r0 AS (INSERT")
    assert delivery.pk is not None and not delivery._state.adding
    assert ticket.updated_at is not None and delivery.created_at is not None  # auto_now(_add) filled in
    stored = Delivery.objects.select_related("ticket", "message").get(pk=delivery.pk)
    assert (stored.ticket.reference, stored.message.body) == (ticket.reference, "b")
    assert stored.payload == {"html": "<p>b</p>"} and stored.status == "pending"
    assert stored.created_at == delivery.created_at and stored.ticket.updated_at == ticket.updated_at


def test_the_statement_is_compiled_once_per_shape():
    require_postgres()
    contact = ContactFactory()
    rows_insert(*new_group(contact, key="k1"))
    with CaptureQueriesContext(connection) as queries:
        rows_insert(*new_group(contact, key="k2"))
        rows_insert(Delivery(channel="slack", recipient="#s", body="x", idempotency_key="k3"))
    writes = [q["sql"] for q in queries if q["sql"].startswith("WITH")]
    assert len(writes) == 2 and writes[1].count("INSERT") == 1
    assert Delivery.objects.count() == 3


def test_a_duplicate_writes_nothing_of_the_group():
    require_postgres()
    contact = ContactFactory()
    rows_insert(*new_group(contact, key="taken"))
    ticket, message, delivery = new_group(contact, key="taken")
    with pytest.raises(IntegrityError), transaction.atomic():  # the test's own transaction survives
        rows_insert(ticket, message, delivery)
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    assert not Message.objects.filter(pk=message.pk).exists()


def test_a_reference_to_an_unsaved_row_outside_the_group_is_refused():
    require_postgres()
    ticket = Ticket(subject="s", channel="api", contact=ContactFactory())  # no id taken
    message = Message(ticket=ticket, direction="inbound", channel="api", body="b")
    with pytest.raises(ValueError, match="unsaved related object"):
        rows_insert(message)


def test_an_expression_value_is_saved_through_the_orm_row_by_row():
    contact = ContactFactory()
    ticket = Ticket(subject="s", channel="api", contact=contact, created_at=Now())
    message = Message(ticket=ticket, direction="inbound", channel="api", body="b")
    rows_insert(ticket)  # ids come with the INSERTs, as on SQLite
    rows_insert(message)
    assert Message.objects.get(pk=message.pk).ticket_id == ticket.pk
    assert Ticket.objects.get(pk=ticket.pk).created_at is not None
