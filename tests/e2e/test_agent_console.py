"""An agent's working day in the console, in a real browser."""

import pytest

from notifications.models import Delivery
from supporthub.actors import SYSTEM
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import ContactFactory, TicketFactory
from tickets.models import CannedReply, Message, Ticket, TicketPriority, TicketStatus

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_agent_triages_an_urgent_ticket_from_list_to_close(page, live_server, console_agent):
    contact = ContactFactory(name="Carol Customer", email="carol@example.com")
    target = TicketFactory(subject="Checkout is down", priority=TicketPriority.URGENT, contact=contact)
    TicketFactory(subject="Someone else's urgent", priority=TicketPriority.URGENT, assignee=console_agent)
    TicketFactory(subject="A low one", priority=TicketPriority.LOW)
    CannedReply.objects.create(title="Looking", body="Hi {contact_name}, we are on {reference}.")

    login(page, live_server, console_agent)
    assert "Urgent and unassigned" in page.inner_text("#console-dashboard")

    # Filter to urgent, unassigned work.
    page.goto(f"{live_server.url}/admin/tickets/ticket/?priority__exact=4&assignee=none")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "Checkout is down" in rows.first.inner_text()

    # Assign it to myself with the bulk action.
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "assign_to_me")
    page.click("button[name=index]")
    assert "Updated 1 ticket" in page.inner_text("ul.messagelist")
    target.refresh_from_db()
    assert target.assignee == console_agent

    # Open it, insert a canned reply, add a note, save.
    page.goto(f"{live_server.url}/admin/tickets/ticket/{target.pk}/change/")
    page.select_option("#canned-reply", label="Looking")
    assert page.input_value("#id_reply") == f"Hi Carol Customer, we are on {target.reference}."
    page.fill("#id_note", "Payments provider confirmed an outage.")
    page.click("input[name=_continue]")
    assert "was changed successfully" in page.inner_text("ul.messagelist")
    thread = page.inner_text("section.thread")
    assert "we are on" in thread and "Payments provider confirmed" in thread
    directions = sorted(Message.objects.filter(ticket=target).values_list("direction", flat=True))
    assert directions == ["note", "outbound"]
    # The reply went into the outbox, addressed to the customer, and the page shows it.
    reply = Message.objects.get(ticket=target, direction="outbound")
    delivery = Delivery.objects.get(message=reply)
    assert (delivery.channel, delivery.recipient) == ("email", "carol@example.com")
    assert "Email to carol@example.com" in page.inner_text(f"#message-{reply.pk} .deliveries")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ticket-page.png"), full_page=True)

    # Close it.
    page.select_option("#id_status", "closed")
    page.click("input[name=_continue]")
    assert Ticket.objects.get(pk=target.pk).status == TicketStatus.CLOSED
    assert "closed" in page.inner_text("section.history")


def test_saving_a_ticket_someone_else_changed_warns_instead_of_overwriting(page, live_server, console_agent):
    ticket = TicketFactory(subject="Original subject")
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")

    from tickets.services import ticket_update

    ticket_update(ticket=ticket, actor=SYSTEM, priority=TicketPriority.HIGH)  # another agent, meanwhile

    page.fill("#id_subject", "My edit")
    page.click("input[name=_continue]")
    assert "Someone else changed this ticket" in page.inner_text("ul.errorlist.nonfield")
    ticket.refresh_from_db()
    assert ticket.subject == "Original subject"
    assert ticket.priority == TicketPriority.HIGH


def test_send_and_resolve_from_the_ticket_page(page, live_server, console_agent):
    contact = ContactFactory(name="Dana", email="dana@example.com")
    ticket = TicketFactory(subject="Invoice is wrong", contact=contact, status=TicketStatus.NEW)
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")

    # The buttons sit right under the reply box (console.js moves them there).
    assert page.locator(".field-reply_files + .reply-actions .send-bar button").all_inner_texts() == [
        "Send",
        "Send and set pending",
        "Send and resolve",
    ]
    page.check("#id_internal")
    assert "as-note" in page.get_attribute("#id_reply", "class")
    page.uncheck("#id_internal")

    page.fill("#id_reply", "We corrected the invoice.")
    page.click("button[name=send][value=resolved]")
    assert f"Sent. {ticket.reference} is resolved." in page.inner_text("ul.messagelist")
    assert page.url.endswith(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert "We corrected the invoice." in page.inner_text("section.thread")
    assert "from open to resolved" in " ".join(page.inner_text("section.history").split())

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    reply = Message.objects.get(ticket=ticket)
    assert (reply.direction, reply.author_user) == ("outbound", console_agent)
    assert Delivery.objects.get(message=reply).recipient == "dana@example.com"
