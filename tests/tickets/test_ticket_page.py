"""The ticket page: a change another agent made meanwhile, the customer timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from supporthub.actors import Actor
from telephony.models import CallLog
from tests.factories import ContactFactory, MessageFactory, TicketFactory, UserFactory
from tests.query_counts import assert_constant
from tickets import selectors, services
from tickets.admin.forms import TicketConsoleForm
from tickets.models import PLACEHOLDERS, CannedReply, Macro, Ticket, TicketStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def _page_data(agent_client, ticket, **fields):
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/")
    return {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "seen_updated_at": page.context["adminform"].form["seen_updated_at"].value(),
        **fields,
    }


@pytest.fixture
def closed_after_validation(monkeypatch):
    """Another agent closes the ticket after the form validated and before it is saved."""
    real_clean = TicketConsoleForm.clean

    def clean(form):
        cleaned = real_clean(form)
        services.ticket_update(
            ticket=form.instance, actor=Actor.of(UserFactory(username="bob")), status="closed"
        )
        return cleaned

    monkeypatch.setattr(TicketConsoleForm, "clean", clean)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"status": "resolved"}, "Cannot change status from closed to resolved."),
        ({"reply": "Fixed, thanks!", "send": "resolved"}, "is closed and takes no more messages."),
    ],
    ids=["status field", "send and resolve"],
)
def test_a_change_refused_after_validation_says_why_and_saves_nothing(
    agent_client, closed_after_validation, fields, why
):
    ticket = TicketFactory(status=TicketStatus.OPEN, subject="Before")
    data = _page_data(agent_client, ticket, subject="After", **fields)
    response = agent_client.post(f"{CHANGELIST}{ticket.pk}/change/", data, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Nothing was saved") and why in m for m in shown), shown
    ticket.refresh_from_db()
    # Everything rolled back, the other agent's close included (it ran in this request's transaction).
    assert (ticket.status, ticket.subject) == (TicketStatus.OPEN, "Before")
    assert not ticket.messages.exists()
    assert not Ticket.objects.get(pk=ticket.pk).changes.exists()


# --- the customer timeline ---------------------------------------------------------------
def _at(obj, minutes_ago: int):
    """Back-date `obj`'s created_at (its model sets it on insert)."""
    type(obj).objects.filter(pk=obj.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return obj


def _call(contact, i: int, **fields):
    return CallLog.objects.create(
        call_sid=f"CA{contact.pk:08d}{i:024d}"[:34],
        direction="inbound",
        from_number=contact.phone or "",
        **fields,
    )


def test_the_timeline_lists_other_tickets_calls_and_texts_newest_first(agent_client, customer):
    ticket = TicketFactory(contact=customer, subject="This one")
    older = _at(TicketFactory(contact=customer, subject="Old printer"), 300)
    _at(TicketFactory(subject="Someone else's"), 1)
    text = _at(MessageFactory(ticket=older, channel="sms", body="Printer jammed again"), 200)
    _at(MessageFactory(ticket=ticket, channel="email", body="an email is not a text"), 5)
    voicemail = _at(
        _call(
            customer,
            1,
            ticket=ticket,
            outcome="voicemail",
            recording_url="https://api.twilio.example/Recordings/RE9",
            transcript="call me back",
        ),
        100,
    )
    unlinked = _at(_call(customer, 2), 50)  # from their number, before it made a ticket
    _at(_call(ContactFactory(phone="+14155550999"), 3), 10)  # someone else's
    entries = selectors.customer_timeline(ticket=ticket)
    assert [(e.kind, e.item.pk) for e in entries] == [
        ("call", unlinked.pk),
        ("call", voicemail.pk),
        ("sms", text.pk),
        ("ticket", older.pk),
    ]
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/").content.decode()
    timeline = page[page.index('<ul class="timeline">') :]
    assert (
        timeline.index("Sent to voicemail")
        < timeline.index("Printer jammed again")
        < timeline.index("Old printer")
    )
    assert "call me back" in timeline and "Someone else" not in page


def test_the_timeline_is_cut_at_its_length_keeping_the_newest(customer):
    ticket = TicketFactory(contact=customer)
    for i in range(3):
        _at(TicketFactory(contact=customer), 100 + i)
        _at(_call(customer, i, ticket=ticket), 10 + i)
    entries = selectors.customer_timeline(ticket=ticket, limit=4)
    assert [e.kind for e in entries] == ["call", "call", "call", "ticket"]


def test_the_ticket_page_is_constant_in_the_contacts_tickets_calls_and_texts(admin_client, customer):
    ticket = TicketFactory(contact=customer)

    def add(i: int) -> None:
        other = TicketFactory(contact=customer, assignee=UserFactory())
        MessageFactory(ticket=other, channel="sms")
        _call(customer, i, ticket=other if i % 2 else None)

    count = assert_constant(admin_client, f"{CHANGELIST}{ticket.pk}/change/", add)
    assert count <= 40, count


def test_the_timeline_takes_three_queries(customer, django_assert_num_queries):
    ticket = TicketFactory(contact=customer)
    for i in range(3):
        MessageFactory(ticket=TicketFactory(contact=customer), channel="sms")
        _call(customer, i, ticket=ticket)
    ticket = Ticket.objects.select_related("contact").get(pk=ticket.pk)
    with django_assert_num_queries(3):
        entries = selectors.customer_timeline(ticket=ticket)
        assert [e.item.ticket.reference for e in entries if e.kind != "ticket"]  # the related rows are joined


# --- placeholders -------------------------------------------------------------------------
def test_canned_replies_and_macros_fill_the_same_placeholders(agent):
    ticket = TicketFactory(subject="Late parcel", contact=ContactFactory(name="Dana"))
    agent.first_name, agent.last_name = "Alice", "Agent"
    text = "{contact_name} {reference} {subject} {agent_name} {unknown}"
    expected = f"Dana {ticket.reference} Late parcel Alice Agent {{unknown}}"
    assert CannedReply(title="a", body=text).render(ticket=ticket, agent=agent) == expected
    assert Macro(name="m", body=text).render(ticket=ticket, agent=agent) == expected
    assert Macro(name="m", body="a stray { brace").render(ticket=ticket) == "a stray { brace"
    assert set(PLACEHOLDERS) == {"contact_name", "reference", "subject", "agent_name"}


def test_the_canned_reply_and_macro_forms_list_the_placeholders(admin_client):
    for model in ("cannedreply", "macro"):
        page = admin_client.get(f"/admin/tickets/{model}/add/").content.decode()
        assert all(f"{{{name}}}" in page for name in PLACEHOLDERS), model
        assert "::shortcut" in page, model


def test_the_ticket_page_offers_the_shortcuts_with_their_filled_text(agent_client, customer):
    ticket = TicketFactory(contact=customer)
    CannedReply.objects.create(title="Hello", shortcut="hi", body="Hi {contact_name}")
    bye = Macro.objects.create(name="Bye", shortcut="bye", body="Bye from {reference}", status="resolved")
    CannedReply.objects.create(title="No shortcut", body="x")
    response = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/")
    assert response.context["shortcuts"] == {
        "hi": {"text": f"Hi {customer.name}"},
        "bye": {
            "text": f"Bye from {ticket.reference}",
            "macro": bye.pk,
            "name": "Bye",
            "summary": "sends a reply, status resolved",
            "internal": False,
        },
    }
    assert 'id="reply-shortcuts"' in response.content.decode()


# --- a macro typed by its shortcut, applied with the reply -------------------------------
@pytest.fixture
def wait_macro():
    return Macro.objects.create(
        name="Wait", shortcut="wait", body="We wait for you", status="pending", add_tags="waiting"
    )


def test_a_macro_typed_in_the_reply_box_applies_its_changes_with_the_edited_reply(
    agent_client, agent, wait_macro
):
    ticket = TicketFactory(status=TicketStatus.NEW)
    data = _page_data(
        agent_client, ticket, reply="We wait for you, edited", macro_on_send=wait_macro.pk, send="now"
    )
    response = agent_client.post(f"{CHANGELIST}{ticket.pk}/change/", data)
    assert response.status_code == 302, response.content
    ticket.refresh_from_db()
    assert ticket.status == "pending" and list(ticket.tags.values_list("name", flat=True)) == ["waiting"]
    assert list(ticket.messages.values_list("body", flat=True)) == [
        "We wait for you, edited"
    ]  # once, as edited
    fields = list(ticket.changes.order_by("pk").values_list("field", "new_value", "actor"))
    assert fields == [
        ("status", "open", agent.pk),
        ("status", "pending", agent.pk),
        ("tags", "waiting", agent.pk),
        ("macro", "Wait", agent.pk),
    ]


@pytest.mark.parametrize(
    ("status", "fields", "error"),
    [
        ("resolved", {}, "Macro “Wait”: cannot change status from resolved to pending."),
        ("open", {"send": "resolved"}, "Macro “Wait” sets the status: choose no other status."),
        ("open", {"status": "closed"}, "Macro “Wait” sets the status: choose no other status."),
    ],
)
def test_a_typed_macro_the_ticket_cannot_take_saves_nothing(agent_client, wait_macro, status, fields, error):
    ticket = TicketFactory(status=status)
    data = _page_data(agent_client, ticket, reply="Hi", macro_on_send=wait_macro.pk, **fields)
    response = agent_client.post(f"{CHANGELIST}{ticket.pk}/change/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == status
    assert not ticket.messages.exists() and not ticket.changes.exists()


def test_an_unknown_typed_macro_is_refused_by_the_form(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = agent_client.post(
        f"{CHANGELIST}{ticket.pk}/change/",
        _page_data(agent_client, ticket, reply="Hi", macro_on_send="999999"),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ticket.messages.exists()
