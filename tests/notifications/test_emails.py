"""Email deliveries are written with their template's name and values, and rendered by
the worker that sends them."""

import pytest
from django.core import mail
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext

from notifications.emails import email_payload
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_send
from tests.notifications.fakes import Reply
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

REQUEST = {
    "channel": "email",
    "name": "Carol",
    "email": "carol@example.com",
    "subject": "Printer",
    "message": "On fire",
}


@pytest.fixture
def rendered():
    """The names of the templates rendered while the test runs."""
    names: list[str] = []

    def record(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    yield names
    template_rendered.disconnect(record)


def test_an_intake_writes_its_emails_unrendered_and_renders_no_template(api, rendered):
    response = api.post("/v1/support/request", REQUEST, format="json")
    assert response.status_code == 201, response.json()
    assert rendered == []
    emails = Delivery.objects.filter(channel="email").order_by("recipient")
    assert [(d.recipient, d.body, d.payload["template"]) for d in emails] == [
        ("carol@example.com", "", "ticket_created_ack"),
        ("team@support.example", "", "ticket_created_team"),
    ]
    assert all(d.payload["headers"]["Message-ID"].startswith("<sh-ticket-") for d in emails)
    ticket = Ticket.objects.get()
    assert emails[0].payload["context"] == {
        "ticket": {"reference": ticket.reference, "subject": "Printer", "channel": "email"},
        "contact": {"name": "Carol", "email": "carol@example.com", "phone": None},
        "priority": "normal",
        "body": "On fire",
        "url": f"https://help.example.com/admin/tickets/ticket/{ticket.pk}/change/",
        "agent": "SupportHub",
    }


def test_sending_renders_text_and_html_from_the_ticket_and_stores_what_was_sent(api, rendered):
    ticket = Ticket.objects.get(
        pk=api.post("/v1/support/request", REQUEST, format="json").json()["ticket"]["id"]
    )
    ack = Delivery.objects.get(recipient="carol@example.com")

    assert delivery_send(delivery_id=ack.pk).status == DeliveryStatus.SENT

    assert rendered == [
        "notifications/ticket_created_ack.txt",
        "notifications/ticket_created_ack.html",
        "notifications/base.html",
    ]
    sent = mail.outbox[0]
    assert "Hello Carol" in sent.body and ticket.reference in sent.body
    assert sent.alternatives[0][1] == "text/html" and ticket.reference in sent.alternatives[0][0]
    assert sent.extra_headers["Message-ID"] == ack.payload["headers"]["Message-ID"]
    ack.refresh_from_db()
    assert ack.body == sent.body and ack.payload["html"] == sent.alternatives[0][0]
    assert set(ack.payload) == {"headers", "html"} and ack.payload["headers"]["Message-ID"].startswith("<")


def test_a_retried_email_is_rendered_once_and_sent_as_first_rendered(api, postmark, rendered):
    api.post("/v1/support/request", REQUEST, format="json")
    ack = Delivery.objects.get(recipient="carol@example.com")
    postmark.answer(Reply(503, {"ErrorCode": 100, "Message": "down for maintenance"}))
    assert delivery_send(delivery_id=ack.pk).status == DeliveryStatus.PENDING
    ack.refresh_from_db()
    first_body = ack.body
    assert "Printer" in first_body and "template" not in ack.payload
    rendered_once = list(rendered)

    Ticket.objects.filter(pk=ack.ticket_id).update(subject="Renamed later")
    Delivery.objects.filter(pk=ack.pk).update(next_attempt_at=ack.created_at)
    assert delivery_send(delivery_id=ack.pk).status == DeliveryStatus.SENT
    first, second = (request.json() for request in postmark.requests)
    assert first["TextBody"] == second["TextBody"] == first_body
    assert second["HtmlBody"] == ack.payload["html"] and rendered == rendered_once


def test_an_email_says_what_it_said_when_its_ticket_was_created(api):
    """The values are taken with the event: a rename or a deletion before the send does not
    change the email, and rendering reads nothing from the database."""
    api.post("/v1/support/request", REQUEST, format="json")
    ack = Delivery.objects.get(recipient="carol@example.com")
    Ticket.objects.filter(pk=ack.ticket_id).update(subject="Renamed later")
    team = Delivery.objects.get(recipient="team@support.example")
    Ticket.objects.filter(pk=ack.ticket_id).delete()

    with CaptureQueriesContext(connection) as queries:
        assert delivery_send(delivery_id=ack.pk).status == DeliveryStatus.SENT
    assert len(queries) == 2  # the claim and the outcome, with the rendered text
    assert delivery_send(delivery_id=team.pk).status == DeliveryStatus.SENT
    assert [m.subject.split("] ", 1)[1] for m in mail.outbox] == [
        "We received your request: Printer",
        "New normal ticket: Printer",
    ]
    assert "Printer" in mail.outbox[0].body and "Renamed" not in mail.outbox[0].body
    assert "On fire" in mail.outbox[1].body


def test_an_unknown_template_is_refused_when_written_and_fails_when_sent(api):
    with pytest.raises(ValueError, match="unknown email template 'nope'"):
        email_payload("nope", {}, ticket=Ticket(), message=None)
    api.post("/v1/support/request", REQUEST, format="json")
    ack = Delivery.objects.get(recipient="carol@example.com")
    Delivery.objects.filter(pk=ack.pk).update(payload={"template": "nope", "headers": {}})

    assert delivery_send(delivery_id=ack.pk).status == DeliveryStatus.FAILED
    ack.refresh_from_db()
    assert "unknown email template 'nope'" in ack.last_error and mail.outbox == []


def test_the_console_says_a_pending_email_is_rendered_when_sent(api, admin_client):
    api.post("/v1/support/request", REQUEST, format="json")
    ack = Delivery.objects.get(recipient="carol@example.com")
    page = admin_client.get(f"/admin/notifications/delivery/{ack.pk}/change/")
    assert page.status_code == 200
    assert b"rendered from the &#x27;ticket_created_ack&#x27; email template when sent" in page.content
