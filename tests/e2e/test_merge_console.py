"""Merging a duplicate and linking tickets on the ticket page, in a real browser."""

import pytest

from tests.e2e.conftest import login
from tests.factories import ContactFactory, MessageFactory, TicketFactory
from tickets.models import Ticket, TicketStatus

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_agent_merges_a_duplicate_and_links_a_related_ticket(page, live_server, console_agent):
    contact = ContactFactory(name="Erin", email="erin@example.com")
    duplicate = TicketFactory(subject="Login broken (again)", contact=contact, status=TicketStatus.OPEN)
    original = TicketFactory(subject="Login broken", contact=contact, status=TicketStatus.OPEN)
    related = TicketFactory(subject="SSO outage", status=TicketStatus.OPEN)
    MessageFactory(ticket=duplicate, author_contact=contact, body="Still cannot log in.")
    login(page, live_server, console_agent)

    # Enter in the merge box asks to confirm (it is its own form, not the ticket's Save).
    page.goto(f"{live_server.url}/admin/tickets/ticket/{duplicate.pk}/change/")
    page.fill("#merge-into", original.reference.lower())
    page.press("#merge-into", "Enter")
    page.wait_for_selector("input[name=confirm]", state="attached", timeout=30_000)
    assert f"Merge {duplicate.reference} into {original.reference}?" in page.inner_text("#content")
    page.click("input[type=submit][value=Merge]")

    page.wait_for_url(f"**/admin/tickets/ticket/{original.pk}/change/", timeout=30_000)
    assert f"Merged {duplicate.reference} into {original.reference}." in page.inner_text("ul.messagelist")
    assert "Still cannot log in." in page.inner_text("section.thread")
    assert f"merged {duplicate.reference} into {original.reference}" in page.inner_text("section.history")
    assert duplicate.reference in page.inner_text("section.merge-links")
    merged = Ticket.objects.get(pk=duplicate.pk)
    assert (merged.status, merged.merged_into_id) == (TicketStatus.CLOSED, original.pk)

    # Link a related ticket; it shows on both pages; unlink it.
    page.fill("#link-ticket", related.reference)
    page.press("#link-ticket", "Enter")
    page.wait_for_selector(f"text=Linked {related.reference}.", timeout=30_000)
    assert related.reference in page.inner_text("ul.linked-tickets")
    page.goto(f"{live_server.url}/admin/tickets/ticket/{related.pk}/change/")
    assert original.reference in page.inner_text("ul.linked-tickets")
    page.click(f"button[aria-label='Unlink {original.reference}']")
    page.wait_for_selector(f"text=Unlinked {original.reference}.", timeout=30_000)
    assert not Ticket.objects.get(pk=related.pk).links.exists()
