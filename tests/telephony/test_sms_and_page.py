"""Inbound SMS becomes a message on the sender's phone ticket; page key presses acknowledge."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery
from tests.factories import ContactFactory, TicketFactory
from tests.telephony.conftest import BASE, CALLER, sid, twiml, verbs
from tickets.models import Message, Ticket, TicketChange

pytestmark = pytest.mark.django_db


def test_an_sms_from_a_new_number_opens_a_phone_ticket_and_tells_the_sender_its_reference(twilio):
    message_sid = sid("SM")
    root = twiml(twilio.sms(message_sid, "My router is on fire"))

    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.subject, ticket.contact.phone) == ("phone", f"SMS from {CALLER}", CALLER)
    message = ticket.messages.get()
    assert (message.direction, message.channel, message.body) == ("inbound", "sms", "My router is on fire")
    assert (message.external_id, message.author_contact) == (message_sid, ticket.contact)
    assert verbs(root) == ["Message"]
    assert ticket.reference in root.find("Message").text


def test_an_sms_joins_the_senders_open_phone_ticket_without_an_auto_reply(twilio):
    paused_at = timezone.now() - timedelta(hours=1)
    ticket = TicketFactory(
        contact=ContactFactory(name="Carol", phone=CALLER),
        channel="phone",
        status="pending",
        resolution_due=timezone.now() + timedelta(hours=2),
        sla_paused_at=paused_at,
    )
    due = ticket.resolution_due
    root = twiml(twilio.sms(sid("SM"), "Any news?"))

    assert verbs(root) == []
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    # The customer's reply reopens a pending ticket through the one transition: recorded,
    # and the resolution clock resumes where it was paused.
    assert ticket.status == "open" and ticket.sla_paused_at is None
    assert timedelta(minutes=59) < ticket.resolution_due - due < timedelta(minutes=61)
    change = TicketChange.objects.get(ticket=ticket, field="status")
    assert (change.old_value, change.new_value, change.actor_label) == ("pending", "open", "Carol (customer)")
    assert list(ticket.messages.values_list("channel", "body")) == [("sms", "Any news?")]


def test_an_sms_from_someone_with_only_an_email_ticket_opens_a_phone_ticket(twilio):
    TicketFactory(contact=ContactFactory(phone=CALLER), channel="email")
    twiml(twilio.sms(sid("SM"), "hello"))
    assert Ticket.objects.filter(channel="phone").count() == 1


def test_a_replayed_sms_is_recorded_once_and_answered_as_the_first(twilio):
    message_sid = sid("SM")
    first = twiml(twilio.sms(message_sid, "once"))
    deliveries = Delivery.objects.count()
    replay = twiml(twilio.sms(message_sid, "once"))

    assert [m.text for m in replay.iter("Message")] == [m.text for m in first.iter("Message")]
    assert Message.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Delivery.objects.count() == deliveries


def test_mms_attachments_are_linked_in_the_message(twilio):
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    twiml(
        twilio.sms(
            sid("MM"), "photo of the error", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
        )
    )
    assert Message.objects.get().body == f"photo of the error\n\nAttachments:\n{url}"


def test_an_ack_from_a_customer_is_kept_as_a_message(twilio):
    twiml(twilio.sms(sid("SM"), "ACK"))
    assert Message.objects.get().body == "ACK"


def test_pressing_1_with_nothing_to_acknowledge_says_so_and_hangs_up(twilio):
    root = twiml(
        twilio.post("/webhooks/twilio/page", {"Digits": "1", "CallSid": sid("CA")}, query="delivery=5")
    )
    assert verbs(root) == ["Say", "Hangup"]
    assert "nothing left to acknowledge" in root.find("Say").text


def test_another_key_asks_again_on_the_same_signed_url(twilio):
    root = twiml(
        twilio.post("/webhooks/twilio/page", {"Digits": "9", "CallSid": sid("CA")}, query="delivery=5")
    )
    assert verbs(root) == ["Gather", "Say", "Hangup"]
    gather = root.find("Gather")
    assert gather.get("action") == f"{BASE}/webhooks/twilio/page?delivery=5"
    assert gather.get("numDigits") == "1"
    assert "Press 1" in gather.find("Say").text


def test_a_stop_keyword_is_recorded_but_gets_no_auto_reply(twilio):
    root = twiml(twilio.sms(sid("SM"), "STOP"))
    assert verbs(root) == []
    assert Message.objects.get().body == "STOP"
