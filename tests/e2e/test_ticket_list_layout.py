"""The agents' ticket list at a laptop's 1,440 x 900: every column fits, one line per ticket."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.conftest import ARTIFACTS, login
from tests.factories import ContactFactory, TicketFactory
from tickets.models import TicketPriority

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

COLUMNS = ["reference", "subject", "contact", "status", "priority", "SLA due", "assignee", "last activity"]


@pytest.fixture
def laptop_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_ticket_list_fits_a_laptop_screen_with_one_line_subjects(laptop_page, live_server, console_agent):
    page = laptop_page
    long_subject = "Invoice " + "and the refund that never arrived after three weeks of waiting " * 3
    contact = ContactFactory(name="Maximiliane Wolkenstein-Oberhausen von Trauttmansdorff")
    for priority in TicketPriority.values:
        TicketFactory(subject=long_subject, contact=contact, priority=priority, assignee=console_agent)
    now = timezone.now()
    TicketFactory(
        subject="Short one",
        first_response_due=now + timedelta(hours=3),
        resolution_due=now + timedelta(days=2),
    )

    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ticket-list-1440x900.png"))
    headers = [h.strip() for h in page.locator("#result_list thead th .text").all_inner_texts()]
    assert [h.lower() for h in headers if h] == [c.lower() for c in COLUMNS]

    overflow = page.evaluate(
        """() => {
            const results = document.querySelector('#changelist .results');
            const root = document.documentElement;
            return {page: root.scrollWidth - root.clientWidth, list: results.scrollWidth - results.clientWidth};
        }"""
    )
    assert overflow == {"page": 0, "list": 0}

    # Each subject is one line, cut with an ellipsis, and its full text is a hover away.
    subjects = page.locator("#result_list td.field-subject_line a")
    assert subjects.count() == 5
    for i in range(subjects.count()):
        box = subjects.nth(i).evaluate(
            """a => ({
                lines: Math.round(a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight)),
                ellipsis: getComputedStyle(a).textOverflow,
            })"""
        )
        assert box["lines"] == 1
        assert box["ellipsis"] == "ellipsis"
    long_row = subjects.first.evaluate(
        "a => ({clipped: a.scrollWidth > a.clientWidth, title: a.querySelector('span').title})"
    )
    assert long_row == {"clipped": True, "title": long_subject}
    short_row = page.locator("#result_list tbody tr", has_text="Short one")
    assert (
        short_row.locator("td.field-sla_due").inner_text() == "reply in 2\xa0hours"
    )  # timesince keeps number and unit together
    # Row heights are one line too (no other column wraps): all rows the same height.
    heights = page.locator("#result_list tbody tr").evaluate_all("rows => rows.map(r => r.offsetHeight)")
    assert len(set(heights)) == 1
