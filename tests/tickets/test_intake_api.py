import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Delivery
from tickets.models import Contact, Message, Ticket
from tickets.services import agent_shift_set

pytestmark = pytest.mark.django_db

URL = "/v1/support/request"


def request_body(**overrides):
    body = {
        "channel": "email",
        "name": "Ann Customer",
        "email": "ann@example.com",
        "subject": "Cannot log in",
        "message": "The login page says my password is wrong.",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def nothing_written():
    return not Ticket.objects.exists() and not Contact.objects.exists() and not Message.objects.exists()


def test_email_request_becomes_a_ticket(api):
    response = api.post(URL, request_body(priority="high"), format="json")
    assert response.status_code == 201, response.content
    ticket = response.json()["ticket"]
    assert ticket["reference"].startswith("SH-")
    assert ticket["status"] == "new"
    assert ticket["priority"] == "high"
    assert ticket["channel"] == "email"
    assert ticket["contact"] == {
        "id": ticket["contact"]["id"],
        "name": "Ann Customer",
        "email": "ann@example.com",
        "phone": None,
    }
    assert ticket["message_count"] == 1
    assert ticket["first_response_due"] is not None
    assert isinstance(response.json()["deliveries"], list)
    assert Ticket.objects.get(pk=ticket["id"]).messages.get().body.startswith("The login page")


def test_a_request_writes_each_row_once_and_reads_nothing_back(counted_api, settings):
    """The ticket (its reference derived from its id), the first message and the
    notifications (one INSERT for all of them); the answer is built from what was written."""
    settings.SUPPORT_TEAM_EMAIL = "team@example.com"
    Contact.objects.create(name="Ann Customer", email="ann@example.com")  # a known requester
    with CaptureQueriesContext(connection) as queries:
        response = counted_api.post(URL, request_body(), format="json")
    assert response.status_code == 201, response.content
    writes = [q["sql"].split('"')[:2] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == [
        ["INSERT INTO ", "tickets_ticket"],
        ["INSERT INTO ", "tickets_message"],
        ["UPDATE ", "tickets_ticket"],  # the reference and the search vector
        ["INSERT INTO ", "notifications_delivery"],  # the team's email and the acknowledgement
    ]
    ticket = response.json()["ticket"]
    assert (ticket["reference"], ticket["message_count"]) == (f"SH-{1000 + ticket['id']}", 1)
    assert Delivery.objects.filter(ticket_id=ticket["id"]).count() == 2
    # Before writing, one look for an identical recent request to fold into; after, no re-reads.
    first_write = next(n for n, q in enumerate(queries) if q["sql"].startswith("INSERT"))
    reads = [q["sql"] for q in queries[first_write:] if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "tickets_ticket"' in sql or 'FROM "tickets_message"' in sql]


@pytest.mark.parametrize("auto_assign", [False, True])
def test_the_answer_is_the_ticket_as_written(api, settings, agent, auto_assign):
    """The answer is built from the rows in memory: it must be what a read gives, also
    after an auto-assignment changed the ticket."""
    settings.SUPPORT_TEAM_EMAIL = "team@example.com, lead@example.com, TEAM@example.com"
    settings.AUTO_ASSIGN_ENABLED = auto_assign
    agent_shift_set(user=agent, on_shift=True)
    response = api.post(URL, request_body(priority="urgent"), format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["ticket"]["assignee"] == (agent.pk if auto_assign else None)
    assert answer["ticket"] == api.get(f"/v1/tickets/{answer['ticket']['id']}").json()
    recipients = [d["recipient"] for d in answer["deliveries"]]
    assert recipients == ["team@example.com", "lead@example.com", "ann@example.com"]
    written = Delivery.objects.filter(ticket_id=answer["ticket"]["id"])
    # The answer lists the new ticket's notices; round-robin's notice to the agent is its own.
    assigned = written.filter(idempotency_key__contains=":assigned:")
    assert list(assigned.values_list("recipient", flat=True)) == ([agent.email] if auto_assign else [])
    assert {d["id"] for d in answer["deliveries"]} == set(
        written.exclude(pk__in=assigned).values_list("pk", flat=True)
    )


def test_phone_request_normalises_the_number(api):
    response = api.post(
        URL, request_body(channel="phone", email=None, phone="+1 (415) 555-0123"), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["ticket"]["contact"]["phone"] == "+14155550123"


def test_chat_request_needs_no_email(api):
    response = api.post(URL, request_body(channel="chat", email=None), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["ticket"]["priority"] == "normal"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"channel": "phone", "email": None}, "phone"),
        ({"channel": "phone", "phone": "0301234567"}, "phone"),
        ({"channel": "phone", "phone": "+999123"}, "phone"),
        ({"channel": "fax"}, "channel"),
        ({"priority": "critical"}, "priority"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"message": None}, "message"),
        ({"name": 42.5, "subject": ["not", "text"]}, "subject"),
        ({"message": "bad \x00 byte"}, "message"),
        ({"message": 42}, "message"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_intake_is_refused_naming_the_field_and_writes_nothing(api, overrides, field):
    response = api.post(URL, request_body(**overrides), format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert body["errors"][field][0]
    assert nothing_written()


def test_blank_email_and_phone_mean_not_given_and_never_collide(api):
    blanks = request_body(channel="chat", email="", phone="")
    assert api.post(URL, blanks, format="json").status_code == 201
    assert api.post(URL, blanks, format="json").status_code == 201
    assert Contact.objects.filter(phone__isnull=True, email__isnull=True).count() == 2


def test_body_that_is_not_json_is_a_400(api):
    response = api.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert nothing_written()


def test_a_json_list_instead_of_an_object_is_a_400(api):
    response = api.post(URL, data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]


def test_form_encoded_body_is_refused_as_unsupported(api):
    response = api.post(URL, data="channel=email", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert nothing_written()


def test_oversized_body_is_refused_with_413(api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    response = api.post(URL, request_body(message="x" * 2000), format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert nothing_written()


def test_same_customer_twice_shares_one_contact(api):
    api.post(URL, request_body(), format="json")
    api.post(URL, request_body(subject="Another thing"), format="json")
    assert Contact.objects.count() == 1
    assert Ticket.objects.count() == 2


def transaction_statements(queries):
    """BEGIN, COMMIT and ROLLBACK in order (SQLite's BEGIN names its mode)."""
    words = [q["sql"].split()[0] for q in queries if q["sql"]]
    return [word for word in words if word in ("BEGIN", "COMMIT", "ROLLBACK")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("requester", ["known", "new"])
@pytest.mark.parametrize("priority", ["normal", "urgent"])
def test_an_intake_is_one_transaction(counted_api, requester, priority):
    """(counted_api's first request records the key's use, in its own transaction.)"""
    if requester == "known":
        Contact.objects.create(name="Ann Customer", email="ann@example.com")
    with CaptureQueriesContext(connection) as queries:
        response = counted_api.post(URL, request_body(priority=priority), format="json")
    assert response.status_code == 201, response.content
    assert transaction_statements(queries) == ["BEGIN", "COMMIT"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failure_after_the_contact_is_written_leaves_nothing_behind(api, monkeypatch):
    """All or nothing: the contact is written in the same transaction as the ticket."""

    def broken(deliveries):
        raise DatabaseError("the notifications could not be written")

    monkeypatch.setattr("notifications.outbox.deliveries_save", broken)
    with pytest.raises(DatabaseError):
        api.post(URL, request_body(), format="json")
    assert nothing_written()


def test_the_answer_equals_drfs_generic_representation_of_what_was_written(api):
    from rest_framework import serializers

    from notifications.serializers import DeliverySerializer
    from tickets.serializers import TicketSerializer

    answer = api.post(URL, request_body(), format="json").json()
    ticket = Ticket.objects.select_related("contact").get(pk=answer["ticket"]["id"])
    deliveries = Delivery.objects.filter(ticket=ticket).order_by("id")
    assert answer == {
        "ticket": serializers.ModelSerializer.to_representation(TicketSerializer(), ticket),
        "deliveries": [
            serializers.ModelSerializer.to_representation(DeliverySerializer(), delivery)
            for delivery in deliveries
        ],
    }
    assert len(answer["deliveries"]) >= 1
