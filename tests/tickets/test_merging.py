"""Merging a duplicate ticket into another, and linking related tickets (tickets.merging)."""

import pytest

from escalation.models import Incident, IncidentStatus
from notifications.models import Delivery, DeliveryAudience
from supporthub.actors import Actor
from supporthub.exceptions import DomainError
from telephony.models import CallLog
from tests.factories import ContactFactory, MessageFactory, TicketFactory
from tickets import merging, services
from tickets.models import Message, Ticket, TicketChange, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(customer):
    source = TicketFactory(contact=customer, status=TicketStatus.OPEN, message_count=2)
    target = TicketFactory(contact=customer, status=TicketStatus.OPEN, message_count=1)
    MessageFactory(ticket=source, author_contact=customer, body="first", external_id="<a@mail.example>")
    MessageFactory(ticket=source, author_contact=customer, body="second")
    MessageFactory(ticket=target, author_contact=customer, body="target's own")
    return source, target


def _notices(ticket):
    return Delivery.objects.filter(message__ticket=ticket, audience=DeliveryAudience.CUSTOMER)


def test_merging_moves_the_messages_and_their_deliveries_and_closes_the_duplicate(pair, agent):
    source, target = pair
    moved = list(source.messages.values_list("pk", flat=True))
    delivery = Delivery.objects.create(
        channel="email", recipient="team@support.example", body="x", idempotency_key="k1", ticket=source,
        message_id=moved[0],
    )  # fmt: skip

    result = merging.ticket_merge(source=source, target=target, actor=Actor.of(agent))

    assert result.pk == target.pk
    assert set(Message.objects.filter(pk__in=moved).values_list("ticket", flat=True)) == {target.pk}
    delivery.refresh_from_db()
    assert delivery.ticket_id == target.pk
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.status, source.merged_into_id) == (TicketStatus.CLOSED, target.pk)
    assert target.status == TicketStatus.OPEN
    assert target.message_count == 3 == target.messages.count()
    assert source.message_count == 1 == source.messages.count()  # the notice to the contact


def test_merging_records_who_merged_what_into_what_on_both_tickets(pair, agent):
    source, target = pair
    merging.ticket_merge(source=source, target=target, actor=Actor.of(agent))

    phrase = f"merged {source.reference} into {target.reference}"
    for ticket in (source, target):
        [merge] = TicketChange.objects.filter(ticket=ticket, field=TicketChange.Field.MERGE)
        assert (merge.actor, merge.summary) == (agent, phrase)
    closed = TicketChange.objects.get(ticket=source, field="status", new_value=TicketStatus.CLOSED)
    assert closed.actor == agent  # through the status transition


def test_the_contact_is_told_once_on_the_duplicates_thread_even_when_the_merge_is_repeated(pair, agent):
    source, target = pair
    for _ in range(3):  # a double click, a retried request
        assert merging.ticket_merge(source=source, target=target, actor=Actor.of(agent)).pk == target.pk

    [notice] = _notices(source)
    assert notice.recipient == source.contact.email
    assert source.reference in notice.subject
    assert target.reference in notice.message.body
    assert notice.payload["headers"]["In-Reply-To"] == "<a@mail.example>"  # threads for the customer
    assert TicketChange.objects.filter(field=TicketChange.Field.MERGE).count() == 2  # one per ticket
    assert Ticket.objects.get(pk=target.pk).message_count == 3


def test_calls_move_to_the_target(pair):
    source, target = pair
    call = CallLog.objects.create(call_sid="CA" + "1" * 32, direction="inbound", ticket=source)

    merging.ticket_merge(source=source, target=target, actor=Actor())

    call.refresh_from_db()
    assert call.ticket_id == target.pk


def test_an_open_incident_moves_to_a_target_without_one(pair):
    source, target = pair
    incident = Incident.objects.create(title="Urgent", ticket=source)

    merging.ticket_merge(source=source, target=target, actor=Actor())

    incident.refresh_from_db()
    assert (incident.ticket_id, incident.status) == (target.pk, IncidentStatus.TRIGGERED)
    assert incident.events.filter(message__contains="merged into").exists()


def test_an_open_incident_is_resolved_when_the_target_has_its_own(pair):
    source, target = pair
    theirs = Incident.objects.create(title="Source", ticket=source)
    ours = Incident.objects.create(title="Target", ticket=target)

    merging.ticket_merge(source=source, target=target, actor=Actor())

    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert (theirs.ticket_id, theirs.status) == (source.pk, IncidentStatus.RESOLVED)
    assert ours.status == IncidentStatus.TRIGGERED


def test_tickets_merged_into_the_duplicate_follow_it_to_the_target(pair):
    source, target = pair
    earlier = TicketFactory(status=TicketStatus.OPEN)
    merging.ticket_merge(source=earlier, target=source, actor=Actor())

    merging.ticket_merge(source=source, target=target, actor=Actor())

    assert Ticket.objects.get(pk=earlier.pk).merged_into_id == target.pk


def test_the_target_gets_the_duplicates_tags_too_recorded_in_its_history(pair, agent):
    source, target = pair
    services.ticket_update(ticket=source, actor=Actor(), tags=["billing", "vip"])
    services.ticket_update(ticket=target, actor=Actor(), tags=["billing", "refund"])

    merging.ticket_merge(source=source, target=target, actor=Actor.of(agent))

    assert sorted(target.tags.values_list("name", flat=True)) == ["billing", "refund", "vip"]
    [change] = TicketChange.objects.filter(ticket=target, field=TicketChange.Field.TAGS, actor=agent)
    assert (change.old_value, change.new_value) == ("billing, refund", "billing, refund, vip")
    assert not Message.objects.filter(ticket=target, direction="note").exists()  # one contact


def test_a_merge_across_contacts_names_the_duplicates_contact_in_a_note_on_the_target(agent):
    dana = ContactFactory(name="Dana", email="dana@example.com", phone="+14155550199")
    source = TicketFactory(status=TicketStatus.OPEN, contact=dana)
    target = TicketFactory(status=TicketStatus.OPEN, contact=ContactFactory(name="Erin"))

    merging.ticket_merge(source=source, target=target, actor=Actor.of(agent))

    note = Message.objects.get(ticket=target, direction="note")
    assert note.author_user == agent and not note.deliveries.exists()
    assert note.body == (
        f"{source.reference}, merged into this ticket, came from Dana <dana@example.com, +14155550199>, "
        f"not from this ticket's contact: replies sent here go to Erin only. Their replies to "
        f"{source.reference} land here."
    )
    assert Ticket.objects.get(pk=target.pk).message_count == target.messages.count()


def test_a_merge_that_would_give_the_target_too_many_tags_is_refused_and_writes_nothing(pair):
    source, target = pair
    services.ticket_update(ticket=source, actor=Actor(), tags=[f"s{n}" for n in range(11)])
    services.ticket_update(ticket=target, actor=Actor(), tags=[f"t{n}" for n in range(10)])
    before = (list(Message.objects.values_list("pk", "ticket")), TicketChange.objects.count())

    with pytest.raises(DomainError) as refused:
        merging.ticket_merge(source=source, target=target, actor=Actor())

    assert (refused.value.field, refused.value.code) == ("into", "merge_too_many_tags")
    assert refused.value.message == (
        f"{target.reference} cannot take the tags of {source.reference}: A ticket has at most 20 tags."
    )
    assert (list(Message.objects.values_list("pk", "ticket")), TicketChange.objects.count()) == before
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None


@pytest.mark.parametrize(
    ("setup", "field", "words"),
    [
        (lambda s, t: (s, s), "into", "into itself"),
        (lambda s, t: (s, _merged(t)), "into", "merge into that one"),
        (lambda s, t: (s, _closed(t)), "into", "is closed"),
        (lambda s, t: (_closed(s), t), "ticket", "closed ticket cannot be merged"),
        (lambda s, t: (_merged(s), t), "ticket", "already merged"),
    ],
)
def test_refused_merges_say_why_and_write_nothing(pair, setup, field, words):
    source, target = setup(*pair)
    before = (list(Message.objects.values_list("pk", "ticket")), TicketChange.objects.count())

    with pytest.raises(DomainError) as refused:
        merging.ticket_merge(source=source, target=target, actor=Actor())

    assert refused.value.field == field
    assert words in refused.value.message
    assert (list(Message.objects.values_list("pk", "ticket")), TicketChange.objects.count()) == before
    assert not Delivery.objects.exists()


def test_merging_back_is_refused_as_a_cycle(pair):
    source, target = pair
    merging.ticket_merge(source=source, target=target, actor=Actor())

    with pytest.raises(DomainError) as refused:
        merging.ticket_merge(source=target, target=source, actor=Actor())

    assert refused.value.code == "merge_cycle"
    assert Ticket.objects.get(pk=target.pk).merged_into_id is None


def _merged(ticket):
    elsewhere = TicketFactory(status=TicketStatus.OPEN)
    Ticket.objects.filter(pk=ticket.pk).update(merged_into=elsewhere, status=TicketStatus.CLOSED)
    return Ticket.objects.get(pk=ticket.pk)


def _closed(ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.CLOSED)
    return Ticket.objects.get(pk=ticket.pk)


# --- links ------------------------------------------------------------------------------------
def test_a_link_shows_on_both_tickets_and_in_both_histories(agent):
    one, two = TicketFactory(), TicketFactory()

    merging.ticket_link(ticket=one, other=two, actor=Actor.of(agent))
    merging.ticket_link(ticket=two, other=one, actor=Actor.of(agent))  # already linked: no change

    assert list(one.links.all()) == [two]
    assert list(two.links.all()) == [one]
    assert [c.summary for c in TicketChange.objects.filter(ticket=one)] == [f"linked {two.reference}"]
    assert [c.summary for c in TicketChange.objects.filter(ticket=two)] == [f"linked {one.reference}"]


def test_unlinking_removes_the_link_both_ways_once(agent):
    one, two = TicketFactory(), TicketFactory()
    merging.ticket_link(ticket=one, other=two, actor=Actor.of(agent))

    merging.ticket_unlink(ticket=two, other=one, actor=Actor.of(agent))
    merging.ticket_unlink(ticket=two, other=one, actor=Actor.of(agent))

    assert not one.links.exists() and not two.links.exists()
    assert TicketChange.objects.filter(ticket=one, old_value=two.reference, new_value="").count() == 1


def test_a_ticket_cannot_be_linked_to_itself():
    ticket = TicketFactory()
    with pytest.raises(DomainError, match="itself"):
        merging.ticket_link(ticket=ticket, other=ticket, actor=Actor())


def test_a_merge_across_contacts_tells_the_duplicates_own_contact():
    source = TicketFactory(status=TicketStatus.OPEN, contact=ContactFactory(email="dup@example.com"))
    target = TicketFactory(status=TicketStatus.OPEN)

    merging.ticket_merge(source=source, target=target, actor=Actor())

    assert [d.recipient for d in _notices(source)] == ["dup@example.com"]
    assert not _notices(target).exists()


def test_a_duplicate_whose_count_is_behind_still_merges_with_true_counts(customer):
    source = TicketFactory(status=TicketStatus.OPEN, message_count=0, contact=customer)
    target = TicketFactory(status=TicketStatus.OPEN, message_count=0, contact=customer)
    MessageFactory.create_batch(2, ticket=source)

    merging.ticket_merge(source=source, target=target, actor=Actor())

    assert Ticket.objects.get(pk=source.pk).message_count == 1  # the notice
    assert Ticket.objects.get(pk=target.pk).message_count == 2
