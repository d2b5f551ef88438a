"""Replies to a merged ticket land on the ticket it was merged into: email (through anymail's
inbound webhook) and SMS."""

import pytest

from notifications.builders import new_message_id
from supporthub.actors import Actor
from telephony.services import sms_inbound_receive
from tests.factories import ContactFactory, MessageFactory, TicketFactory
from tests.notifications.test_inbound_email import post, raw_email, webhook_secret  # noqa: F401
from tickets import merging
from tickets.models import Message, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged():
    return _merged(channel="email")


def _merged(*, channel: str) -> tuple[Ticket, Ticket]:
    contact = ContactFactory(name="Dana Doe", email="dana@example.com", phone="+14155550199")
    source = TicketFactory(contact=contact, status=TicketStatus.OPEN, channel=channel)
    target = TicketFactory(contact=contact, status=TicketStatus.PENDING, channel="email")
    MessageFactory(ticket=source, author_contact=contact, external_id="<first@mail.example>")
    merging.ticket_merge(source=source, target=target, actor=Actor(name="agent"))
    return source, target


def _landed(external_id: str) -> Ticket:
    return Message.objects.select_related("ticket").get(external_id=external_id).ticket


def test_an_email_naming_the_merged_ticket_in_its_subject_lands_on_the_target(merged):
    source, target = merged
    assert (
        post(raw_email(subject=f"Re: [{source.reference}] still broken", message_id="<r1@x>")).status_code
        == 200
    )

    assert _landed("<r1@x>").pk == target.pk
    assert Ticket.objects.get(pk=target.pk).status == TicketStatus.OPEN  # the customer's reply reopens it
    assert Ticket.objects.get(pk=source.pk).status == TicketStatus.CLOSED


def test_an_answer_to_the_merge_notice_lands_on_the_target(merged):
    source, target = merged
    notice = Message.objects.get(ticket=source, direction="outbound")
    raw = raw_email(subject="Re: ok", message_id="<r2@x>", headers=f"In-Reply-To: {notice.external_id}")

    assert post(raw).status_code == 200

    assert _landed("<r2@x>").pk == target.pk


def test_an_answer_carrying_the_merged_tickets_thread_token_lands_on_the_target(merged):
    source, target = merged
    raw = raw_email(
        subject="Re: hello", message_id="<r3@x>", headers=f"In-Reply-To: {new_message_id(source, 'reply')}"
    )

    assert post(raw).status_code == 200

    assert _landed("<r3@x>").pk == target.pk


def test_an_email_naming_the_merged_ticket_from_a_stranger_opens_a_ticket_of_its_own(merged):
    source, target = merged
    raw = raw_email(subject=f"[{source.reference}] hi", sender="eve@example.net", message_id="<r4@x>")

    assert post(raw).status_code == 200

    assert _landed("<r4@x>").pk not in (source.pk, target.pk)


def test_a_text_from_the_caller_of_a_merged_phone_ticket_lands_on_the_target(db):
    _, target = _merged(channel="phone")

    result = sms_inbound_receive(
        message_sid="SM" + "1" * 32,
        from_number="+14155550199",
        to_number="+14155550100",
        body="hi",
        media_urls=[],
    )

    assert result.message is not None and result.message.ticket_id == target.pk
    assert Ticket.objects.count() == 2  # no new phone ticket
