"""Only a ticket's own thread replies on it by email: the contact, or with the ticket's
unguessable thread token an address already on the thread. A guessed reference opens a
ticket of its own; a third party with the token is held as a note, never the customer's."""

import pytest

from notifications.builders import new_message_id, thread_token
from notifications.models import Delivery
from tests.factories import ContactFactory, MessageFactory, TicketFactory
from tests.notifications.test_inbound_email import post, raw_email, webhook_secret  # noqa: F401
from tickets.models import Message, Ticket, TicketStatus

pytestmark = pytest.mark.django_db

CONTACT = "dana@example.com"
STRANGER = "Mallory <mallory@evil.example>"


@pytest.fixture
def ticket():
    return TicketFactory(
        reference="SH-1004", status=TicketStatus.PENDING, contact=ContactFactory(email=CONTACT)
    )


def reply(*, sender, subject="Re: [SH-1004] Printer", in_reply_to="", message_id="<r1@mail.example>"):
    headers = f"In-Reply-To: {in_reply_to}" if in_reply_to else ""
    response = post(raw_email(sender=sender, subject=subject, message_id=message_id, headers=headers))
    assert response.status_code == 200, response.content
    return Message.objects.get(external_id=message_id)


def test_a_guessed_reference_from_a_stranger_opens_a_ticket_of_its_own(ticket):
    message = reply(sender=STRANGER)
    assert message.ticket != ticket and message.ticket.contact.email == "mallory@evil.example"
    assert ticket.messages.count() == 0
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING, "not reopened by a stranger"
    assert not Delivery.objects.filter(ticket=ticket).exists(), "no 'new reply' notification on it"


def test_the_contact_still_threads_by_the_bare_reference(ticket):
    message = reply(sender=f"Dana <{CONTACT}>")
    assert message.ticket == ticket and message.direction == "inbound"
    assert message.author_contact == ticket.contact


def test_one_of_our_message_ids_without_the_token_is_no_better_than_a_guess(ticket):
    for n, guessed in enumerate(
        [
            f"<sh-ticket-{ticket.pk}.reply.abc@support.example>",
            f"<sh-ticket-{ticket.pk}-{'0' * 20}.ack.x@s.example>",
        ]
    ):
        message = reply(sender=STRANGER, subject="Re: hello", in_reply_to=guessed, message_id=f"<g{n}@evil>")
        assert message.ticket != ticket
    assert ticket.messages.count() == 0


def test_a_third_party_replying_to_our_email_is_held_as_a_note_not_the_customers_reply(ticket):
    ours = new_message_id(ticket, "ack")
    message = reply(sender=STRANGER, subject="Re: hello", in_reply_to=ours)
    assert message.ticket == ticket
    assert message.direction == "note" and message.author_contact.email == "mallory@evil.example"
    assert message.author_contact != ticket.contact
    assert "third party" in message.body and "mallory@evil.example" in message.body
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    assert not Delivery.objects.filter(message=message).exists()


def test_the_contact_replying_to_our_email_threads_and_notifies(ticket):
    message = reply(sender=CONTACT, subject="Re: hello", in_reply_to=new_message_id(ticket, "reply"))
    assert message.ticket == ticket and message.direction == "inbound"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert Delivery.objects.filter(message=message).exists()


def test_an_address_already_on_the_thread_threads_with_the_token_but_not_by_reference(ticket):
    colleague = ContactFactory(email="lee@example.com")
    MessageFactory(
        ticket=ticket, direction="inbound", author_contact=colleague, external_id="<c1@mail.example>"
    )
    tokened = reply(sender="lee@example.com", in_reply_to=new_message_id(ticket, "reply"), subject="Re: x")
    assert tokened.ticket == ticket and tokened.direction == "inbound" and tokened.author_contact == colleague
    bare = reply(sender="lee@example.com", message_id="<r2@mail.example>")
    assert bare.ticket != ticket


def test_our_message_ids_carry_a_token_that_the_reference_does_not_give_away(ticket, settings):
    message_id = new_message_id(ticket, "ack")
    token = thread_token(ticket.pk)
    assert f"sh-ticket-{ticket.pk}-{token}." in message_id and len(token) >= 16
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert thread_token(ticket.pk) != token


def test_a_token_made_before_a_key_rotation_still_threads(ticket, settings):
    ours = new_message_id(ticket, "reply")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-secret-key-" + "y" * 40
    assert reply(sender=STRANGER, subject="Re: hello", in_reply_to=ours).ticket == ticket
    assert Ticket.objects.count() == 1
