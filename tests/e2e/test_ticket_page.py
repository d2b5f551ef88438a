"""The ticket page at 1,440 x 900: the reply box in view, macros, shortcuts, send and resolve."""

import pytest

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import ContactFactory, MessageFactory, TicketFactory, UserFactory
from tickets.models import CannedReply, Macro, Message, Ticket, TicketChange, TicketPriority, TicketStatus

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WIDTH, HEIGHT = 1440, 900


@pytest.fixture
def desk(browser):
    """A page the size of the agents' screens."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _open(desk, live_server, agent, ticket) -> None:
    login(desk, live_server, agent)
    desk.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")


def _in_view(desk, selector: str) -> bool:
    box = desk.locator(selector).bounding_box()
    assert box is not None, selector
    return box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT and box["x"] + box["width"] <= WIDTH


def test_the_reply_box_stays_in_view_beside_a_long_thread(desk, live_server, console_agent):
    ticket = TicketFactory(subject="A long story")
    for i in range(40):
        MessageFactory(ticket=ticket, body=f"Message {i}: " + "The parcel has not arrived yet. " * 12)
    _open(desk, live_server, console_agent, ticket)
    assert _in_view(desk, "#id_reply")

    desk.locator(f"#message-{ticket.messages.last().pk}").scroll_into_view_if_needed()
    desk.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert desk.evaluate("window.scrollY") > 2 * HEIGHT  # the thread really is long and scrolled
    assert _in_view(desk, "#id_reply")
    assert _in_view(desk, "button[name=send][value=resolved]")
    # Beside the thread, not over it.
    reply, thread = desk.locator("#id_reply").bounding_box(), desk.locator("section.thread").bounding_box()
    assert reply["x"] >= thread["x"] + thread["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(ARTIFACTS / "ticket-page-scrolled.png"))


def test_send_and_resolve_at_the_agents_screen_size(desk, live_server, console_agent):
    ticket = TicketFactory(status=TicketStatus.OPEN, contact=ContactFactory(email="erin@example.com"))
    _open(desk, live_server, console_agent, ticket)
    desk.fill("#id_reply", "All sorted.")
    desk.click("button[name=send][value=resolved]")
    assert f"Sent. {ticket.reference} is resolved." in desk.inner_text("ul.messagelist")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED
    assert Message.objects.get(ticket=ticket).direction == "outbound"


def test_typing_a_shortcut_inserts_the_canned_reply_with_its_placeholders(desk, live_server, console_agent):
    ticket = TicketFactory(contact=ContactFactory(name="Frank"))
    CannedReply.objects.create(
        title="Refund policy", shortcut="refund", body="Hi {contact_name}, refunds take 5 days."
    )
    _open(desk, live_server, console_agent, ticket)
    assert "::refund" in desk.inner_text(".shortcuts-help")
    desk.click("#id_reply")
    desk.keyboard.type("Hello. ::refund ")
    assert desk.input_value("#id_reply") == "Hello. Hi Frank, refunds take 5 days."
    desk.keyboard.type(" ::nosuch ")  # not a shortcut: left as typed
    assert desk.input_value("#id_reply").endswith(" ::nosuch ")


def test_applying_a_macro_changes_the_ticket_in_one_click(desk, live_server, console_agent):
    tier2 = UserFactory(username="tier2", email="tier2@support.example")
    ticket = TicketFactory(status=TicketStatus.NEW, contact=ContactFactory(name="Gina"))
    Macro.objects.create(
        name="Escalate to tier 2",
        body="Hi {contact_name}, a specialist is on it.",
        status=TicketStatus.PENDING,
        priority=TicketPriority.HIGH,
        assignee=tier2,
        add_tags="tier2",
    )
    _open(desk, live_server, console_agent, ticket)

    # With a reply written the macro is not applied (its own text would replace it).
    desk.fill("#id_reply", "draft")
    desk.click("button.macro-button")
    assert desk.locator(".macro-refused").is_visible()
    assert not TicketChange.objects.filter(ticket=ticket).exists()
    desk.fill("#id_reply", "")

    desk.click("button.macro-button")
    assert "Applied macro “Escalate to tier 2”." in desk.inner_text("ul.messagelist")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (
        TicketStatus.PENDING,
        TicketPriority.HIGH,
        tier2,
    )
    assert list(ticket.tags.values_list("name", flat=True)) == ["tier2"]
    assert "Hi Gina, a specialist is on it." in desk.inner_text("section.thread")
    assert "applied macro Escalate to tier 2" in " ".join(desk.inner_text("section.history").split())


def test_a_macro_the_ticket_cannot_take_says_so_and_changes_nothing(desk, live_server, console_agent):
    ticket = TicketFactory(status=TicketStatus.RESOLVED)
    Macro.objects.create(name="Wait for customer", body="Waiting on you.", status=TicketStatus.PENDING)
    _open(desk, live_server, console_agent, ticket)
    desk.click("button.macro-button")
    assert "Cannot change status from resolved to pending." in desk.inner_text("ul.messagelist")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED
    assert not ticket.messages.exists()


def test_typing_a_macros_shortcut_applies_it_when_the_reply_is_sent(desk, live_server, console_agent):
    ticket = TicketFactory(status=TicketStatus.NEW, contact=ContactFactory(name="Hana"))
    Macro.objects.create(
        name="Need details",
        shortcut="details",
        body="Hi {contact_name}, which model is it?",
        status="pending",
    )
    _open(desk, live_server, console_agent, ticket)
    desk.click("#id_reply")
    desk.keyboard.type("::details ")
    assert desk.input_value("#id_reply") == "Hi Hana, which model is it?"
    assert "Macro “Need details” applies when you send: sends a reply, status pending." in desk.inner_text(
        ".armed-macro"
    )
    desk.keyboard.type(" Thanks!")
    desk.click("button[name=send][value=now]")
    assert f"Sent. {ticket.reference} is pending." in desk.inner_text("ul.messagelist")
    assert list(ticket.messages.values_list("body", flat=True)) == ["Hi Hana, which model is it? Thanks!"]
    assert "applied macro Need details" in " ".join(desk.inner_text("section.history").split())

    # Dismissed, the macro changes nothing: only the text is sent.
    desk.click("#id_reply")
    desk.keyboard.type("::details ")
    desk.click(".armed-macro .disarm")
    assert not desk.locator(".armed-macro").is_visible()
    desk.click("button[name=send][value=now]")
    assert f"Sent. {ticket.reference} is pending." in desk.inner_text("ul.messagelist")
    assert ticket.messages.count() == 2
    assert ticket.changes.filter(field="macro").count() == 1
