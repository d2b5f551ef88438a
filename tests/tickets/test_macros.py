"""Macros: a canned reply plus field changes, applied through the ticket services."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from notifications.models import Delivery
from supporthub.exceptions import DomainError
from supporthub.roles import ADMIN
from tests.factories import ContactFactory, TicketFactory, UserFactory
from tickets.macros import macro_apply
from tickets.models import CannedReply, Macro, TicketChange, TicketPriority, TicketStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def refund(other_agent):
    return Macro.objects.create(
        name="Refund issued",
        shortcut="refund",
        body="Hi {contact_name}, we refunded you on {reference}. {agent_name}",
        status=TicketStatus.RESOLVED,
        priority=TicketPriority.LOW,
        assignee=other_agent,
        add_tags="billing refund",
    )


@pytest.fixture
def ticket():
    return TicketFactory(
        status=TicketStatus.NEW, contact=ContactFactory(name="Dana", email="dana@example.com")
    )


def test_applying_a_macro_sends_its_reply_and_changes_fields_recorded_as_the_agent(
    agent, other_agent, refund, ticket
):
    agent.first_name, agent.last_name = "Alice", "Agent"
    macro_apply(ticket=ticket, macro=refund, agent=agent)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("resolved", TicketPriority.LOW, other_agent)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "refund"]
    reply = ticket.messages.get()
    assert reply.direction == "outbound" and reply.author_user == agent
    assert reply.body == f"Hi Dana, we refunded you on {ticket.reference}. Alice Agent"
    assert reply.deliveries.get().recipient == "dana@example.com"
    history = list(
        TicketChange.objects.filter(ticket=ticket).order_by("pk").values_list("field", "new_value", "actor")
    )
    assert history == [
        ("status", "open", agent.pk),  # the reply opens a new ticket, as a reply by hand does
        ("status", "resolved", agent.pk),
        ("priority", "low", agent.pk),
        ("assignee", str(other_agent), agent.pk),
        ("tags", "billing, refund", agent.pk),
        ("macro", "Refund issued", agent.pk),
    ]
    # The assignment service told the new assignee, as for any assignment.
    notice = Delivery.objects.get(recipient=other_agent.email)
    assert notice.subject.startswith(f"[{ticket.reference}] Assigned to you")


def test_an_internal_macro_adds_a_note_and_sends_nothing(agent, ticket):
    note = Macro.objects.create(
        name="Escalate", body="Tier 2 please", internal=True, priority=TicketPriority.HIGH
    )
    macro_apply(ticket=ticket, macro=note, agent=agent)
    message = ticket.messages.get()
    assert (message.direction, message.deliveries.count()) == ("note", 0)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("new", TicketPriority.HIGH)


def test_a_macro_assigns_the_agent_applying_it_recorded_by_them_and_tells_nobody(agent, other_agent):
    take = Macro.objects.create(name="Take it", assign_to_applier=True)
    mine = TicketFactory(status=TicketStatus.OPEN, assignee=other_agent)

    macro_apply(ticket=mine, macro=take, agent=agent)

    mine.refresh_from_db()
    assert mine.assignee == agent
    [change] = TicketChange.objects.filter(ticket=mine, field="assignee")
    assert (change.old_value, change.new_value, change.actor) == (str(other_agent), str(agent), agent)
    assert not Delivery.objects.filter(recipient=agent.email).exists()  # they took it themselves
    assert take.summary == "assigns the agent applying it"


def test_a_macro_assigns_either_a_fixed_agent_or_the_one_applying_it_not_both(other_agent):
    both = Macro(name="Both", assignee=other_agent, assign_to_applier=True)
    with pytest.raises(ValidationError, match="Choose an assignee or “assign to the agent applying it”"):
        both.full_clean()


def test_a_macro_whose_status_change_is_illegal_changes_and_sends_nothing(agent, refund):
    resolved = TicketFactory(status=TicketStatus.RESOLVED, priority=TicketPriority.NORMAL)
    pending = Macro.objects.create(
        name="Wait", body="We wait for you", status=TicketStatus.PENDING, add_tags="x"
    )
    with pytest.raises(DomainError, match=r"Cannot change status from resolved to pending\."):
        macro_apply(ticket=resolved, macro=pending, agent=agent)
    resolved.refresh_from_db()
    assert resolved.status == "resolved" and not resolved.tags.exists()
    assert not resolved.messages.exists() and not resolved.changes.exists()


def test_a_macro_on_a_closed_ticket_is_refused(agent, refund):
    closed = TicketFactory(status=TicketStatus.CLOSED)
    with pytest.raises(DomainError, match="closed"):
        macro_apply(ticket=closed, macro=refund, agent=agent)
    assert not closed.changes.exists()


def test_shortcuts_are_unique_across_canned_replies_and_macros(refund):
    canned = CannedReply(title="Refund text", body="x", shortcut="REFUND")
    with pytest.raises(ValidationError, match="::refund already inserts the macro “Refund issued”"):
        canned.full_clean()
    refund.full_clean()  # its own shortcut is no clash


def test_macro_tags_are_cleaned_and_bad_ones_named():
    macro = Macro(name="T", add_tags="Billing, refund  billing")
    macro.full_clean()
    assert macro.tags == ["billing", "refund"]
    with pytest.raises(ValidationError, match="Tag 'bad!'"):
        Macro(name="U", add_tags="bad!").full_clean()


# --- the console: who may edit, who may apply --------------------------------------------
def test_agents_see_macros_but_only_admins_edit_them(agent_client, client, refund):
    assert agent_client.get("/admin/tickets/macro/").status_code == 200
    assert agent_client.get("/admin/tickets/macro/add/").status_code == 403
    assert agent_client.post(f"/admin/tickets/macro/{refund.pk}/change/", {"name": "Mine"}).status_code == 403
    lead = UserFactory(username="lead")
    lead.groups.add(Group.objects.get(name=ADMIN))
    client.force_login(lead)
    response = client.post(
        "/admin/tickets/macro/add/", {"name": "Spam", "shortcut": "spam", "status": "closed"}
    )
    assert response.status_code == 302, response.content
    assert Macro.objects.get(shortcut="spam").status == "closed"
    response = client.post(
        "/admin/tickets/macro/add/",
        {"name": "Mine", "assign_to_applier": "on", "assignee": UserFactory(username="fixed").pk},
    )
    assert "Choose an assignee or “assign to the agent applying it”, not both." in response.content.decode()
    response = client.post("/admin/tickets/macro/add/", {"name": "Mine", "assign_to_applier": "on"})
    assert response.status_code == 302, response.content
    assert Macro.objects.get(name="Mine").assign_to_applier


def test_an_agent_applies_a_macro_from_the_ticket_page(agent_client, agent, refund, ticket):
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/").content.decode()
    assert f'formaction="{CHANGELIST}{ticket.pk}/macro/"' in page and "Refund issued" in page
    response = agent_client.post(f"{CHANGELIST}{ticket.pk}/macro/", {"macro": refund.pk}, follow=True)
    assert "Applied macro “Refund issued”." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert "applied macro Refund issued" in response.content.decode()


def test_an_illegal_macro_from_the_ticket_page_says_why(agent_client, refund):
    closed = TicketFactory(status=TicketStatus.CLOSED)
    response = agent_client.post(f"{CHANGELIST}{closed.pk}/macro/", {"macro": refund.pk}, follow=True)
    assert response.status_code == 200
    assert "Macro “Refund issued” not applied, nothing changed:" in response.content.decode()
    assert not closed.changes.exists()


def test_an_unknown_macro_is_a_400_naming_the_field(agent_client, ticket):
    for value in ("", "abc", "999999"):
        response = agent_client.post(f"{CHANGELIST}{ticket.pk}/macro/", {"macro": value})
        assert response.status_code == 400 and response.content.startswith(b"macro:"), value
    assert agent_client.get(f"{CHANGELIST}{ticket.pk}/macro/").status_code == 405


def test_a_user_who_may_not_change_tickets_cannot_apply_macros(client, refund, ticket):
    client.force_login(UserFactory(username="viewer"))  # staff, no permissions
    assert client.post(f"{CHANGELIST}{ticket.pk}/macro/", {"macro": refund.pk}).status_code == 403
    assert not ticket.changes.exists()
