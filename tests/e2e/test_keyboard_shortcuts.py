"""Keyboard shortcuts of the ticket list and the ticket page (tickets/static/tickets/shortcuts.js),
in a real Chromium under the Content-Security-Policy."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import TicketFactory
from tickets.models import Ticket, TicketChange, TicketPriority

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

LIST = "/admin/tickets/ticket/"
AS_NOTE = re.compile(r"\bas-note\b")
CURRENT = "#result_list tbody tr.shortcut-current"


@pytest.fixture
def errors(page):
    """Script errors and CSP refusals (not the browser's missing /favicon.ico)."""
    seen: list[str] = []

    def console(message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            seen.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


@pytest.fixture
def three_tickets():
    """In the list's order: urgent, high, low."""
    return [
        TicketFactory(subject="First: urgent", priority=TicketPriority.URGENT),
        TicketFactory(subject="Second: high", priority=TicketPriority.HIGH),
        TicketFactory(subject="Third: low", priority=TicketPriority.LOW),
    ]


def change_url(live_server, ticket: Ticket) -> str:
    return f"{live_server.url}{LIST}{ticket.pk}/change/"


def test_j_and_k_move_the_highlight_and_o_and_enter_open_it(
    page, live_server, console_agent, three_tickets, errors
):
    first, second, third = three_tickets
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}{LIST}")
    expect(page.locator(CURRENT)).to_have_count(0)

    page.keyboard.press("j")
    expect(page.locator(CURRENT)).to_contain_text(first.subject)
    expect(page.locator(CURRENT)).to_have_attribute("aria-current", "true")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    expect(page.locator(CURRENT)).to_contain_text(third.subject)
    page.keyboard.press("k")
    expect(page.locator(CURRENT)).to_contain_text(second.subject)
    expect(page.locator(CURRENT)).to_have_count(1)

    page.keyboard.press("o")
    page.wait_for_url(change_url(live_server, second))

    page.goto(f"{live_server.url}{LIST}")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(change_url(live_server, third))
    assert errors == []


def test_the_highlighted_row_is_kept_scrolled_into_view(page, live_server, console_agent):
    TicketFactory.create_batch(30)
    login(page, live_server, console_agent)
    page.set_viewport_size({"width": 1400, "height": 500})
    page.goto(f"{live_server.url}{LIST}")
    last = page.locator("#result_list tbody tr").last
    expect(last).not_to_be_in_viewport()

    for _ in range(30):
        page.keyboard.press("j")
    expect(last).to_have_class("shortcut-current")
    expect(last).to_be_in_viewport()
    for _ in range(29):
        page.keyboard.press("k")
    expect(page.locator("#result_list tbody tr").first).to_be_in_viewport()
    expect(last).not_to_be_in_viewport()


def test_a_assigns_only_the_highlighted_row_through_the_lists_action(
    page, live_server, console_agent, three_tickets, errors
):
    first, second, third = three_tickets
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}{LIST}")
    page.locator("#result_list tbody tr").nth(2).locator("input.action-select").check()  # an old selection

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("a")

    expect(page.locator("ul.messagelist")).to_contain_text("Updated 1 ticket.")
    assert dict(Ticket.objects.values_list("pk", "assignee")) == {
        first.pk: None,
        second.pk: console_agent.pk,
        third.pk: None,
    }
    change = TicketChange.objects.get(ticket=second, field=TicketChange.Field.ASSIGNEE)
    assert change.actor == console_agent
    # After the reload the same row is still highlighted, so j goes on from there.
    expect(page.locator(CURRENT)).to_contain_text(second.subject)
    page.keyboard.press("j")
    expect(page.locator(CURRENT)).to_contain_text(third.subject)
    assert errors == []


def test_question_mark_opens_the_list_of_shortcuts_and_escape_closes_it(
    page, live_server, console_agent, three_tickets, errors
):
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}{LIST}")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_hidden()

    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Assign the highlighted ticket to me")
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "shortcuts-help.png"))
    page.keyboard.press("j")  # the page's shortcuts wait while the list is open
    expect(page.locator(CURRENT)).to_have_count(0)

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator(CURRENT)).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "shortcuts-list-highlight.png"))

    # The link at the foot of the page opens it too, for those who reach for the mouse.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    assert errors == []


def test_shortcuts_do_not_fire_while_typing_or_with_a_modifier(
    page, live_server, console_agent, three_tickets
):
    ticket = three_tickets[0]
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}{LIST}")

    page.click("#searchbar")
    page.keyboard.type("jko?a")
    assert page.input_value("#searchbar") == "jko?a"
    for chord in ("Alt+j", "Control+j", "Meta+j"):
        page.locator("h1").click()  # out of the field
        page.keyboard.press(chord)
    expect(page.locator(CURRENT)).to_have_count(0)
    expect(page.get_by_role("dialog")).to_be_hidden()

    page.goto(change_url(live_server, ticket))
    page.click("#id_note")
    page.keyboard.type("rnsa?")
    assert page.input_value("#id_note") == "rnsa?"
    page.click("#id_subject")
    page.keyboard.press("End")
    page.keyboard.type(" r")
    assert page.input_value("#id_subject").endswith(" r")
    expect(page.locator("#id_note")).not_to_be_focused()
    expect(page.locator("#id_subject")).to_be_focused()
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_r_n_and_s_on_the_ticket_page(page, live_server, console_agent, three_tickets, errors):
    ticket = three_tickets[0]
    login(page, live_server, console_agent)
    page.goto(change_url(live_server, ticket))

    page.keyboard.press("n")
    expect(page.locator("#id_reply")).to_be_focused()
    expect(page.locator("#id_internal")).to_be_checked()
    expect(page.locator("#id_reply")).to_have_class(AS_NOTE)
    assert page.input_value("#id_reply") == ""  # the key was not typed into the box

    page.locator("h1").click()
    page.keyboard.press("r")
    expect(page.locator("#id_reply")).to_be_focused()
    expect(page.locator("#id_internal")).not_to_be_checked()
    expect(page.locator("#id_reply")).not_to_have_class(AS_NOTE)
    assert page.input_value("#id_reply") == ""

    page.locator("h1").click()
    page.keyboard.press("s")
    expect(page.locator("#id_status")).to_be_focused()

    page.locator("h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_contain_text("Write an internal note")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert errors == []


def test_a_on_the_ticket_page_assigns_it_and_asks_first_when_a_draft_would_be_lost(
    page, live_server, console_agent, other_console_agent, three_tickets, errors
):
    ticket = three_tickets[0]
    ticket.assignee = other_console_agent
    ticket.save(update_fields=["assignee"])
    login(page, live_server, console_agent)
    page.goto(change_url(live_server, ticket))

    page.fill("#id_reply", "Half a reply")
    page.locator("h1").click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.keyboard.press("a")
    expect(page.locator("#id_reply")).to_have_value("Half a reply")
    assert Ticket.objects.get(pk=ticket.pk).assignee == other_console_agent

    page.fill("#id_reply", "")
    page.locator("h1").click()
    page.keyboard.press("a")
    expect(page.locator("ul.messagelist")).to_contain_text(f"{ticket.reference} is yours now.")
    assert page.url == change_url(live_server, ticket)
    assert Ticket.objects.get(pk=ticket.pk).assignee == console_agent
    expect(page.locator("section.history")).to_contain_text(console_agent.username)
    assert errors == []
