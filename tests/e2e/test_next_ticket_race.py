"""Two agents, in two browsers, press "Next ticket" at the same instant
(tickets.services.ticket_take_next locks the row it takes with SKIP LOCKED)."""

import time

import pytest

from tests.e2e.conftest import login
from tests.factories import TicketFactory
from tickets.models import Ticket, TicketChange

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

LIST = "/admin/tickets/ticket/"
# Each browser schedules its press for the same wall-clock instant, so the two POSTs leave
# together rather than one after the other from this single test thread.
PRESS_AT = """at => setTimeout(
    () => document.querySelector("form.next-ticket button").click(), Math.max(0, at - Date.now()))"""


@pytest.fixture
def two_agents(browser, live_server, console_agent, other_console_agent):
    """Alice's and Bob's pages, each in its own browser context, logged in, on the list."""
    contexts, pages = [], []
    for user in (console_agent, other_console_agent):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        login(page, live_server, user)
        page.goto(f"{live_server.url}{LIST}")
        contexts.append(context)
        pages.append(page)
    yield pages
    for context in contexts:
        context.close()


def press_next_together(pages) -> list[tuple[str, str]]:
    """(url, message) each page lands on after both pressed "Next ticket" at once."""
    at = int(time.time() * 1000) + 1_000
    for page in pages:
        page.evaluate(PRESS_AT, at)
    landed = []
    for page in pages:
        message = page.wait_for_selector("ul.messagelist", timeout=60_000)
        landed.append((page.url, message.inner_text()))
    return landed


def test_two_agents_pressing_next_ticket_at_once_get_different_tickets(
    two_agents, live_server, console_agent, other_console_agent
):
    first = TicketFactory(subject="First in line")
    second = TicketFactory(subject="Second in line")

    landed = press_next_together(two_agents)

    urls = {url for url, _ in landed}
    assert urls == {f"{live_server.url}{LIST}{t.pk}/change/" for t in (first, second)}, landed
    assert all("is yours now" in message for _, message in landed), landed
    assignees = dict(Ticket.objects.values_list("pk", "assignee"))
    assert sorted(assignees.values()) == sorted([console_agent.pk, other_console_agent.pk])
    # Each agent's page shows the ticket that agent got.
    for page, agent in zip(two_agents, (console_agent, other_console_agent), strict=True):
        mine = Ticket.objects.get(assignee=agent)
        assert page.url.endswith(f"{LIST}{mine.pk}/change/")
        assert mine.reference in page.inner_text("ul.messagelist")


def test_with_one_ticket_waiting_one_agent_gets_it_and_the_other_is_told(
    two_agents, live_server, console_agent, other_console_agent
):
    only = TicketFactory(subject="The only one")

    landed = press_next_together(two_agents)

    winners = [url for url, message in landed if f"{only.reference} is yours now." in message]
    told = [url for url, message in landed if "No unassigned ticket is waiting." in message]
    assert winners == [f"{live_server.url}{LIST}{only.pk}/change/"], landed
    assert told == [f"{live_server.url}{LIST}"], landed
    assignee = Ticket.objects.get(pk=only.pk).assignee
    assert assignee in (console_agent, other_console_agent)
    assert TicketChange.objects.filter(ticket=only, field=TicketChange.Field.ASSIGNEE).count() == 1
