"""Email-to-ticket through anymail's real Postmark inbound webhook view."""

import base64
import json

import pytest
from django.test import Client

from notifications.models import Delivery
from tests.factories import ContactFactory, MessageFactory, TicketFactory
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

URL = "/webhooks/email/postmark/inbound/"
SECRET = "inbound:s3cret-pass"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


def raw_email(
    *,
    subject="Printer on fire",
    sender="Dana Doe <dana@example.com>",
    message_id="<m1@mail.example>",
    body="It is really on fire.",
    headers="",
):
    lines = [f"From: {sender}", "To: help@support.example", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += [*(h for h in headers.split("\n") if h), "Content-Type: text/plain; charset=utf-8", "", body]
    return "\r\n".join(lines)


def post(raw=None, *, auth=SECRET, payload=None, client=None):
    body = (
        payload if payload is not None else json.dumps({"RawEmail": raw if raw is not None else raw_email()})
    )
    headers = {}
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return (client or Client()).post(URL, data=body, content_type="application/json", **headers)


def test_an_email_opens_a_ticket_for_a_new_contact_and_notifies():
    response = post()
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel, ticket.contact.email) == (
        "Printer on fire",
        "email",
        "dana@example.com",
    )
    assert ticket.contact.name == "Dana Doe"
    message = ticket.messages.get()
    assert (message.external_id, message.channel, message.body) == (
        "<m1@mail.example>",
        "email",
        "It is really on fire.",
    )
    recipients = sorted(Delivery.objects.values_list("recipient", flat=True))
    assert recipients == ["dana@example.com", "team@support.example"]
    ack = Delivery.objects.get(recipient="dana@example.com")
    assert ack.payload["headers"]["In-Reply-To"] == "<m1@mail.example>"


def test_the_same_email_twice_is_recorded_once():
    assert post().status_code == 200
    assert post().status_code == 200
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    assert Delivery.objects.count() == 2


def test_a_reference_in_the_subject_threads_onto_that_ticket():
    ticket = TicketFactory(reference="SH-1042", contact=ContactFactory(email="dana@example.com"))
    response = post(raw_email(subject="Re: [SH-1042] Printer", message_id="<m2@mail.example>"))
    assert response.status_code == 200
    assert Ticket.objects.count() == 1
    message = ticket.messages.get()
    assert message.direction == "inbound" and message.author_contact == ticket.contact
    assert Delivery.objects.get().recipient == "team@support.example"


def test_in_reply_to_one_of_our_emails_threads_onto_that_ticket():
    ticket = TicketFactory(contact=ContactFactory(email="dana@example.com"))
    MessageFactory(ticket=ticket, direction="outbound", external_id="<sh-ticket-1.reply.abc@support.example>")
    raw = raw_email(
        subject="Re: your printer",
        message_id="<m3@mail.example>",
        headers="In-Reply-To: <sh-ticket-1.reply.abc@support.example>",
    )
    assert post(raw).status_code == 200
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 2


def test_references_to_our_message_ids_find_the_ticket_even_without_a_stored_message():
    ticket = TicketFactory(contact=ContactFactory(email="dana@example.com"))
    raw = raw_email(
        subject="Re: hello",
        message_id="<m4@mail.example>",
        headers=f"References: <x@y> <sh-ticket-{ticket.pk}.ack.abc@support.example>",
    )
    assert post(raw).status_code == 200
    assert ticket.messages.filter(external_id="<m4@mail.example>").exists()


def test_an_unknown_reference_opens_a_new_ticket():
    assert post(raw_email(subject="[SH-999999] hi")).status_code == 200
    assert Ticket.objects.count() == 1


def test_an_autoresponder_opens_a_ticket_but_gets_no_acknowledgement():
    assert post(raw_email(headers="Auto-Submitted: auto-replied")).status_code == 200
    assert list(Delivery.objects.values_list("recipient", flat=True)) == ["team@support.example"]


def test_an_email_without_message_id_is_still_deduplicated():
    raw = raw_email(message_id="")
    assert post(raw).status_code == 200
    assert post(raw).status_code == 200
    assert Message.objects.count() == 1
    assert Message.objects.get().external_id.startswith("<missing-")


@pytest.mark.parametrize("auth", ["inbound:wrong", None])
def test_bad_or_missing_credentials_are_refused_and_nothing_is_written(auth):
    response = post(auth=auth)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Ticket.objects.count() == 0 and Delivery.objects.count() == 0


def test_without_a_configured_secret_the_webhook_is_closed(settings):
    settings.ANYMAIL = {}
    assert post().status_code == 403
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("{not json", "Malformed"),
        (json.dumps({"RawEmail": raw_email(sender="nobody")}), "Invalid email address"),
        (json.dumps({"RawEmail": raw_email(sender="")}), "no valid From address"),
        (json.dumps({"RawEmail": raw_email(body="")}), "no text"),
        (json.dumps([1, 2]), "Malformed"),
    ],
)
def test_malformed_emails_get_a_400_with_the_reason_and_write_nothing(payload, reason, caplog):
    response = post(payload=payload)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0
    assert "inbound email" in caplog.text


def test_nul_bytes_are_stripped_from_inbound_email():
    assert post(raw_email(body="bad\x00byte")).status_code == 200
    assert Message.objects.get().body == "badbyte"
