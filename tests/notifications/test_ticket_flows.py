"""Intake, agent replies and inbound email create the right deliveries."""

import pytest
from django.core import mail

from notifications.builders import (
    notify_inbound_message,
    reply_deliveries,
    thread_token,
    ticket_created_deliveries,
)
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_save, delivery_send
from tests.factories import ContactFactory, MessageFactory, TicketFactory, UserFactory
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def intake(api, **overrides):
    body = {
        "channel": "email",
        "name": "Carol",
        "email": "carol@example.com",
        "subject": "Printer",
        "message": "On fire",
    }
    body.update(overrides)
    return api.post("/v1/support/request", body, format="json")


def test_a_support_request_returns_the_team_email_and_the_acknowledgement(api):
    response = intake(api)
    assert response.status_code == 201, response.json()
    deliveries = response.json()["deliveries"]
    assert {(d["channel"], d["recipient"], d["status"]) for d in deliveries} == {
        ("email", "team@support.example", "pending"),
        ("email", "carol@example.com", "pending"),
    }
    assert set(deliveries[0]) >= {"id", "channel", "recipient", "status"}
    ticket = Ticket.objects.get(pk=response.json()["ticket"]["id"])
    assert ticket.deliveries.count() == 2


def test_a_support_request_also_goes_to_slack_when_a_webhook_is_set(api, slack):
    response = intake(api, priority="urgent")
    channels = sorted(d["channel"] for d in response.json()["deliveries"])
    assert channels == ["email", "email", "slack"]
    slack_delivery = Delivery.objects.get(channel="slack")
    assert slack_delivery.recipient == "#support"
    assert "New urgent email ticket" in slack_delivery.body


def test_a_phone_request_is_acknowledged_by_sms_when_twilio_is_configured(api, twilio):
    response = intake(api, channel="phone", email="", phone="+14155550123")
    sms = [d for d in response.json()["deliveries"] if d["channel"] == "sms"]
    assert [d["recipient"] for d in sms] == ["+14155550123"]
    delivery_send(delivery_id=sms[0]["id"])
    assert "we received your request SH-" in twilio.requests[0].form()["Body"]


def test_a_phone_request_without_twilio_gets_no_sms(api):
    response = intake(api, channel="phone", email="", phone="+14155550123")
    assert [d["channel"] for d in response.json()["deliveries"]] == ["email"]


def test_several_team_addresses_each_get_one_delivery(api, settings):
    settings.SUPPORT_TEAM_EMAIL = "a@support.example, b@support.example"
    response = intake(api, channel="chat")
    recipients = sorted(d["recipient"] for d in response.json()["deliveries"])
    assert recipients == ["a@support.example", "b@support.example", "carol@example.com"]


def test_the_team_email_renders_text_and_html_with_reference_and_link(api):
    ticket_id = intake(api).json()["ticket"]["id"]
    ticket = Ticket.objects.get(pk=ticket_id)
    team = Delivery.objects.get(recipient="team@support.example")
    delivery_send(delivery_id=team.pk)
    message = mail.outbox[0]
    assert message.subject == f"[{ticket.reference}] New normal ticket: Printer"
    link = f"https://help.example.com/admin/tickets/ticket/{ticket.pk}/change/"
    assert link in message.body and "On fire" in message.body
    assert link in message.alternatives[0][0]


def test_notifying_twice_about_the_same_ticket_creates_nothing_new(api):
    ticket = Ticket.objects.get(pk=intake(api).json()["ticket"]["id"])
    again = [delivery_save(delivery) for delivery in ticket_created_deliveries(ticket)]
    assert len(again) == 2 and Delivery.objects.count() == 2


def test_an_agent_reply_by_api_is_emailed_threaded_to_the_contact(api):
    ticket = TicketFactory(contact=ContactFactory(email="dan@example.com"))
    MessageFactory(ticket=ticket, external_id="<first@mail.example>")
    response = api.post(
        "/v1/messages", {"ticket": ticket.pk, "direction": "outbound", "body": "Fixed it"}, format="json"
    )
    assert response.status_code == 201, response.json()
    delivery = Delivery.objects.get(message_id=response.json()["id"])
    assert delivery.recipient == "dan@example.com"
    assert delivery.subject == f"Re: [{ticket.reference}] {ticket.subject}"
    delivery_send(delivery_id=delivery.pk)
    sent = mail.outbox[0]
    assert sent.extra_headers["In-Reply-To"] == "<first@mail.example>"
    reply = Message.objects.get(pk=response.json()["id"])
    assert sent.extra_headers["Message-ID"] == reply.external_id
    assert reply.external_id.startswith(f"<sh-ticket-{ticket.pk}-{thread_token(ticket.pk)}.reply.")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


def test_the_first_agent_reply_threads_with_the_acknowledgement(api):
    ticket_id = intake(api, channel="chat").json()["ticket"]["id"]
    ack = Delivery.objects.get(idempotency_key=f"ticket:{ticket_id}:created:ack-email")
    ack_id = ack.payload["headers"]["Message-ID"]

    reply = api.post(
        "/v1/messages", {"ticket": ticket_id, "direction": "outbound", "body": "On it"}, format="json"
    )

    headers = Delivery.objects.get(message_id=reply.json()["id"]).payload["headers"]
    assert (headers["In-Reply-To"], headers["References"]) == (ack_id, ack_id)


def test_replies_to_an_emailed_request_reference_its_email_then_the_acknowledgement_then_the_reply(api):
    ticket = TicketFactory(contact=ContactFactory(email="dan@example.com"))
    MessageFactory(ticket=ticket, external_id="<first@mail.example>")
    [ack] = [delivery_save(d) for d in ticket_created_deliveries(ticket) if d.recipient == "dan@example.com"]
    ack_id = ack.payload["headers"]["Message-ID"]
    first = api.post(
        "/v1/messages", {"ticket": ticket.pk, "direction": "outbound", "body": "1"}, format="json"
    )
    second = api.post(
        "/v1/messages", {"ticket": ticket.pk, "direction": "outbound", "body": "2"}, format="json"
    )

    first_id = Message.objects.get(pk=first.json()["id"]).external_id
    headers = Delivery.objects.get(message_id=second.json()["id"]).payload["headers"]
    assert headers["In-Reply-To"] == first_id
    assert headers["References"] == f"<first@mail.example> {ack_id} {first_id}"


def test_an_agent_reply_on_a_phone_ticket_is_sent_by_sms(twilio):
    from tickets.services import message_create

    ticket = TicketFactory(channel="phone", contact=ContactFactory(email=None, phone="+14155550123"))
    message = message_create(ticket=ticket, direction="outbound", body="Call you back at 5")
    delivery = Delivery.objects.get(message=message)
    assert (delivery.channel, delivery.recipient) == ("sms", "+14155550123")
    delivery_send(delivery_id=delivery.pk)
    assert twilio.requests[0].form()["Body"] == f"[{ticket.reference}] Call you back at 5"


def test_a_reply_to_a_phone_ticket_without_twilio_is_visibly_skipped():
    from tickets.services import message_create

    ticket = TicketFactory(channel="phone", contact=ContactFactory(email=None, phone="+14155550123"))
    message = message_create(ticket=ticket, direction="outbound", body="hi")
    delivery = Delivery.objects.get(message=message)
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED


def test_notes_and_unreachable_contacts_send_nothing():
    from tickets.services import message_create

    ticket = TicketFactory(channel="phone", contact=ContactFactory(email=None, phone=None))
    message_create(ticket=ticket, direction="note", body="internal")
    message = message_create(ticket=ticket, direction="outbound", body="no way to reach")
    assert reply_deliveries(message) == []
    email_ticket = TicketFactory(contact=ContactFactory(email=None, phone=None))
    assert reply_deliveries(message_create(ticket=email_ticket, direction="outbound", body="x")) == []
    assert Delivery.objects.count() == 0


def test_an_inbound_message_notifies_the_assignee_or_else_the_team(slack):
    assignee = UserFactory(username="erin", email="erin@support.example")
    assigned = TicketFactory(assignee=assignee)
    unassigned = TicketFactory()
    to_assignee = notify_inbound_message(MessageFactory(ticket=assigned, body="more info"))
    to_team = notify_inbound_message(MessageFactory(ticket=unassigned))
    assert [(d.channel, d.recipient) for d in to_assignee] == [
        ("email", "erin@support.example"),
        ("slack", "#support"),
    ]
    assert to_team[0].recipient == "team@support.example"
    delivery_send(delivery_id=to_assignee[0].pk)
    assert "more info" in mail.outbox[0].body
