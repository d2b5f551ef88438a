import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.pagination import forget_estimates
from tests.factories import MessageFactory, TicketFactory
from tickets.models import Message, TicketStatus

pytestmark = pytest.mark.django_db


def test_outbound_message_is_recorded_and_answers_the_ticket(api):
    ticket = TicketFactory(status=TicketStatus.NEW)
    response = api.post(
        "/v1/messages", {"ticket": ticket.pk, "direction": "outbound", "body": "Try again now"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["ticket"], body["direction"], body["channel"], body["author"]) == (
        ticket.pk,
        "outbound",
        "email",
        {"type": "api_key", "id": None, "name": "API key “tests”"},  # who wrote it
    )
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert ticket.status == TicketStatus.OPEN


def test_staff_session_authors_the_message(client, agent):
    client.force_login(agent)
    ticket = TicketFactory()
    response = client.post(
        "/v1/messages",
        {"ticket": ticket.pk, "direction": "note", "body": "Called them"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["author"] == {
        "type": "user",
        "id": agent.pk,
        "name": agent.get_full_name() or "alice",
    }
    assert response.json()["channel"] == "internal"


def test_list_filters_by_ticket(api):
    ticket = TicketFactory()
    mine = MessageFactory.create_batch(2, ticket=ticket)
    MessageFactory()
    body = api.get(f"/v1/messages?ticket={ticket.pk}").json()
    assert {m["id"] for m in body["results"]} == {m.pk for m in mine}
    assert api.get(f"/v1/messages/{mine[0].pk}").json()["body"] == mine[0].body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"direction": "outbound", "body": "x"}, "ticket"),
        ({"ticket": 999999, "direction": "outbound", "body": "x"}, "ticket"),
        ({"ticket": "abc", "direction": "outbound", "body": "x"}, "ticket"),
        ({"ticket": "ID", "direction": "sideways", "body": "x"}, "direction"),
        ({"ticket": "ID", "direction": "outbound", "body": ""}, "body"),
        ({"ticket": "ID", "direction": "outbound", "body": "x", "channel": "pigeon"}, "channel"),
        ({"ticket": "ID", "direction": "outbound", "body": "x", "author": 1}, "author"),
    ],
)
def test_bad_messages_are_refused_naming_the_field(api, payload, field):
    ticket = TicketFactory()
    if payload.get("ticket") == "ID":
        payload = {**payload, "ticket": ticket.pk}
    response = api.post("/v1/messages", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Message.objects.exists()


def test_messages_to_a_closed_ticket_are_refused(api):
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    response = api.post(
        "/v1/messages", {"ticket": ticket.pk, "direction": "outbound", "body": "hi"}, format="json"
    )
    assert response.status_code == 400
    assert "ticket" in response.json()["errors"]
    assert not Message.objects.exists()


def test_message_list_and_detail_run_a_constant_number_of_queries(counted_api, agent, customer):
    ticket = TicketFactory(contact=customer)
    MessageFactory.create_batch(3, ticket=ticket, author_user=agent)
    MessageFactory.create_batch(2, ticket=ticket, author_contact=customer)

    def count(url):
        forget_estimates()  # each count starts cold: no planner estimate kept from the last one
        with CaptureQueriesContext(connection) as ctx:
            assert counted_api.get(url).status_code == 200
        return len(ctx.captured_queries)

    five = count("/v1/messages?page_size=100")
    MessageFactory.create_batch(25, ticket=ticket, author_user=agent)
    MessageFactory.create_batch(20, ticket=ticket, author_contact=customer)
    assert count("/v1/messages?page_size=100") == five
    # The page; the count (on PostgreSQL: the planner's estimate first, then an exact count);
    # the page's attachments.
    assert five == (4 if connection.vendor == "postgresql" else 3)
    assert count(f"/v1/messages?page_size=100&ticket={ticket.pk}") == five
    assert count(f"/v1/messages/{Message.objects.filter(author_contact=customer).first().pk}") == 2
    assert count(f"/v1/messages/{Message.objects.filter(author_user=agent).first().pk}") == 2


def test_an_email_reply_writes_the_message_its_email_and_the_ticket_in_one_transaction(counted_api):
    """Besides BEGIN/COMMIT: the ticket read the serializer validates with, then, under the
    ticket's row lock, the locking read (which also takes the contact), the message, the
    thread's earlier emails and acknowledgement, the message's Message-ID, its email and the
    ticket's UPDATE."""
    ticket = TicketFactory(status=TicketStatus.OPEN)
    MessageFactory(ticket=ticket, external_id="<first@mail.example>")
    with CaptureQueriesContext(connection) as ctx:
        response = counted_api.post(
            "/v1/messages", {"ticket": ticket.pk, "direction": "outbound", "body": "Fixed"}, format="json"
        )

    assert response.status_code == 201, response.content
    statements = [query["sql"].split('"')[:2] for query in ctx.captured_queries]
    statements = [s for s in statements if s[0].split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]
    assert [(verb.split()[0], table) for verb, table in statements] == [
        ("SELECT", "tickets_ticket"),
        ("SELECT", "tickets_ticket"),  # FOR UPDATE, with the contact
        ("INSERT", "tickets_message"),
        ("SELECT", "tickets_message"),  # the thread's earlier emails
        ("SELECT", "notifications_delivery"),  # the acknowledgement's Message-ID
        ("UPDATE", "tickets_message"),
        ("INSERT", "notifications_delivery"),
        ("UPDATE", "tickets_ticket"),
        ("SELECT", "tickets_attachment"),  # the answer's attachments
    ], statements
    reply = Message.objects.get(pk=response.json()["id"])
    [delivery] = reply.deliveries.all()
    assert delivery.payload["headers"]["Message-ID"] == reply.external_id
    assert delivery.payload["headers"]["In-Reply-To"] == "<first@mail.example>"
