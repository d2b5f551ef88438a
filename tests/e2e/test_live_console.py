"""The live ticket list and presence on the ticket page, in a real browser."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from supporthub.roles import AGENT
from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import TicketFactory, UserFactory
from tickets import presence
from tickets.admin import live as live_admin
from tickets.models import Ticket, TicketPriority

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WAIT = 60_000  # ms: a busy two-core machine polls late, never wrongly

# The id of the first ticket row whose top is inside the window, and where that top is.
FIRST_VISIBLE_ROW = """() => {
  for (const row of document.querySelectorAll('#result_list tbody tr')) {
    const top = row.getBoundingClientRect().top;
    if (top >= 0) return [row.querySelector('input.action-select').value, top];
  }
  return null;
}"""


@pytest.fixture
def errors(page):
    """Script errors and CSP refusals (not the favicon's 404, which Chromium also logs)."""
    seen: list[str] = []

    def console(message) -> None:
        if message.type == "error" and ("Refused to" in message.text or "Content Security" in message.text):
            seen.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


def test_new_and_changed_tickets_appear_without_a_reload_keeping_selection_and_scroll(
    page, live_server, console_agent, monkeypatch, errors
):
    monkeypatch.setattr(live_admin, "POLL_SECONDS", 1)
    rows = TicketFactory.create_batch(45)
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    page.evaluate("window.notReloaded = true")

    boxes = page.locator("#result_list tbody input.action-select")
    boxes.nth(0).check()
    boxes.nth(20).check()
    checked = page.eval_on_selector_all(
        "#result_list tbody input.action-select:checked", "boxes => boxes.map(b => b.value)"
    )
    page.evaluate("window.scrollTo(0, 700)")
    anchor_id, anchor_top = page.evaluate(FIRST_VISIBLE_ROW)

    fresh = TicketFactory(subject="Brand new: checkout is down")
    edited = Ticket.objects.get(pk=int(checked[0]))
    Ticket.objects.filter(pk=edited.pk).update(subject="Edited while listed", updated_at=timezone.now())

    page.wait_for_selector("#result_list tbody tr.live-new >> text=Brand new: checkout is down", timeout=WAIT)
    edited_row = page.locator(f"#result_list tbody tr:has(input.action-select[value='{edited.pk}'])")
    expect(edited_row).to_contain_text("Edited while listed", timeout=WAIT)

    assert page.evaluate("window.notReloaded") is True
    assert (
        page.eval_on_selector_all(
            "#result_list tbody input.action-select:checked", "boxes => boxes.map(b => b.value)"
        )
        == checked
    )
    assert str(fresh.pk) not in checked
    # The row the agent was reading has not moved under them.
    still_id, still_top = page.evaluate(FIRST_VISIBLE_ROW)
    assert still_id == anchor_id
    assert abs(still_top - anchor_top) <= 2
    assert page.inner_text(".live-notice") == "1 new ticket"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-list.png"))
    assert page.locator("#result_list tbody tr").count() == len(rows) + 1
    assert errors == []


def test_a_ticket_that_leaves_the_list_is_marked_not_dropped_and_unmarked_when_back(
    page, live_server, console_agent, monkeypatch
):
    monkeypatch.setattr(live_admin, "POLL_SECONDS", 1)
    leaving = TicketFactory(subject="About to be resolved")
    TicketFactory(subject="Staying")
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    page.locator(f"input.action-select[value='{leaving.pk}']").check()

    Ticket.objects.filter(pk=leaving.pk).update(status="resolved", updated_at=timezone.now())

    row = page.locator(f"#result_list tbody tr:has(input.action-select[value='{leaving.pk}'])")
    expect(row).to_contain_class("live-removed", timeout=WAIT)
    assert page.locator(f"input.action-select[value='{leaving.pk}']").is_checked()

    Ticket.objects.filter(pk=leaving.pk).update(status="open", updated_at=timezone.now())  # reopened

    expect(row).to_contain_text("open", timeout=WAIT)
    expect(row).not_to_contain_class("live-removed", timeout=WAIT)
    assert page.locator(f"input.action-select[value='{leaving.pk}']").is_checked()


def test_a_ticket_added_live_is_selected_counted_and_acted_on_like_the_others(
    page, live_server, console_agent, monkeypatch, errors
):
    monkeypatch.setattr(live_admin, "POLL_SECONDS", 1)
    served = TicketFactory.create_batch(3)
    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    counter = page.locator("span.action-counter")
    expect(counter).to_have_text("0 of 3 selected")

    fresh = TicketFactory(subject="Arrived while the list was open")
    box = page.locator(f"input.action-select[value='{fresh.pk}']")
    box.wait_for(timeout=WAIT)
    expect(counter).to_have_text("0 of 4 selected")

    box.check()
    expect(counter).to_have_text("1 of 4 selected")
    expect(
        page.locator(f"#result_list tbody tr:has(input.action-select[value='{fresh.pk}'])")
    ).to_contain_class("selected")
    page.locator("#action-toggle").check()  # select all: the added row too
    expect(counter).to_have_text("4 of 4 selected")
    page.locator("#action-toggle").uncheck()
    expect(counter).to_have_text("0 of 4 selected")
    assert not box.is_checked()
    for ticket in served:  # every served row, as actions.js knows them: not all rows
        page.locator(f"input.action-select[value='{ticket.pk}']").check()
    expect(counter).to_have_text("3 of 4 selected")
    expect(page.locator("#action-toggle")).not_to_be_checked()

    box.check()
    expect(page.locator("#action-toggle")).to_be_checked()
    for ticket in served[1:]:
        page.locator(f"input.action-select[value='{ticket.pk}']").uncheck()
    expect(counter).to_have_text("2 of 4 selected")
    page.select_option("select[name=action]", "assign_to_me")
    page.click("#changelist-form button[name=index]")
    expect(page.locator("ul.messagelist")).to_contain_text("Updated 2 tickets.")
    assignees = dict(Ticket.objects.values_list("pk", "assignee"))
    assert assignees == {fresh.pk: console_agent.pk, served[0].pk: console_agent.pk} | {
        ticket.pk: None for ticket in served[1:]
    }
    assert errors == []


def test_agent_b_sees_alice_viewing_then_typing_then_leaving(
    browser, live_server, console_agent, monkeypatch
):
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(presence, "TTL_SECONDS", 3600)  # only her leaving can hide her
    bob = UserFactory(username="agent.bob", first_name="Bob")
    bob.groups.add(Group.objects.get(name=AGENT))
    ticket = TicketFactory(subject="Two agents, one ticket")
    cache.delete(f"presence:ticket:{ticket.pk}")
    url = f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/"
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        alice, bob_page = (context.new_page() for context in contexts)
        for page in (alice, bob_page):
            page.set_default_timeout(WAIT)
        login(alice, live_server, console_agent)
        login(bob_page, live_server, bob)
        bob_page.goto(url)
        alice.goto(url)

        notice = bob_page.locator("p.presence")
        expect(notice).to_have_text("Alice is viewing", timeout=WAIT)
        expect(alice.locator("p.presence")).to_have_text("Bob is viewing", timeout=WAIT)

        alice.locator("#id_reply").press_sequentially("Hello Carol")
        expect(notice).to_have_text("Alice is typing a reply", timeout=WAIT)
        ARTIFACTS.mkdir(exist_ok=True)
        bob_page.screenshot(path=str(ARTIFACTS / "presence.png"))

        alice.goto(f"{live_server.url}/admin/")  # pagehide: a beacon says she has gone
        expect(notice).to_be_hidden(timeout=WAIT)
    finally:
        for context in contexts:
            context.close()


def test_an_empty_list_shows_the_first_ticket_that_arrives(
    page, live_server, console_agent, monkeypatch, errors
):
    monkeypatch.setattr(live_admin, "POLL_SECONDS", 1)
    TicketFactory(priority=TicketPriority.NORMAL)
    login(page, live_server, console_agent)
    with page.expect_response(lambda response: "/live/" in response.url, timeout=WAIT):  # the watermark
        page.goto(f"{live_server.url}/admin/tickets/ticket/?priority__exact={TicketPriority.URGENT}")
    expect(page.locator("#result_list")).to_have_count(0)

    TicketFactory(subject="Urgent: payments failing", priority=TicketPriority.URGENT)

    expect(page.locator("#result_list tbody tr")).to_contain_text("Urgent: payments failing", timeout=WAIT)
    assert errors == []


def test_an_empty_list_does_not_reload_under_an_agent_typing_a_search(
    page, live_server, console_agent, monkeypatch, errors
):
    monkeypatch.setattr(live_admin, "POLL_SECONDS", 1)
    TicketFactory(priority=TicketPriority.NORMAL)
    login(page, live_server, console_agent)
    with page.expect_response(lambda response: "/live/" in response.url, timeout=WAIT):  # the watermark
        page.goto(f"{live_server.url}/admin/tickets/ticket/?priority__exact={TicketPriority.URGENT}")
    page.locator("#searchbar").fill("half-typed")

    TicketFactory(subject="Urgent: payments failing", priority=TicketPriority.URGENT)

    notice = page.locator("button.live-notice")
    expect(notice).to_have_text("1 new ticket: show", timeout=WAIT)
    expect(page.locator("#searchbar")).to_have_value("half-typed")
    notice.click()
    expect(page.locator("#result_list tbody tr")).to_contain_text("Urgent: payments failing", timeout=WAIT)
    assert errors == []
