"""The console's merge and links (Django admin, no browser): the ticket page's Merge into… with
its confirmation, links on both pages, the list's Merge selected into one…, refusals, roles."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from supporthub.actors import Actor
from tests.factories import MessageFactory, TicketFactory, UserFactory
from tests.query_counts import assert_constant
from tickets import merging
from tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def pair():
    return TicketFactory(status=TicketStatus.OPEN), TicketFactory(status=TicketStatus.OPEN)


def _page(client, ticket) -> str:
    response = client.get(f"{CHANGELIST}{ticket.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_merge_into_asks_for_confirmation_first_and_writes_nothing(agent_client, pair):
    source, target = pair
    response = agent_client.post(f"{CHANGELIST}{source.pk}/merge/", {"into": target.reference.lower()})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Merge {source.reference} into {target.reference}?" in page
    assert 'name="confirm"' in page
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None


def test_a_confirmed_merge_opens_the_target_which_shows_the_merge(agent_client, agent, pair):
    source, target = pair
    MessageFactory(ticket=source, body="from the duplicate")
    response = agent_client.post(
        f"{CHANGELIST}{source.pk}/merge/", {"into": target.pk, "confirm": "1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{CHANGELIST}{target.pk}/change/"
    page = response.content.decode()
    assert f"Merged {source.reference} into {target.reference}." in page
    assert "from the duplicate" in page  # the moved message
    assert f"{agent.get_full_name()} merged {source.reference} into {target.reference}" in page  # history
    assert "Merged into this ticket:" in page and source.reference in page
    source_page = _page(agent_client, source)
    assert "Merged into" in source_page and 'name="into"' not in source_page  # no second merge


@pytest.mark.parametrize(
    ("into", "words"),
    [("SH-999999", "No ticket SH-999999."), ("", "This field is required."), ("self", "into itself")],
)
def test_a_refused_merge_goes_back_to_the_ticket_saying_why(agent_client, pair, into, words):
    source, _ = pair
    into = source.reference if into == "self" else into
    response = agent_client.post(
        f"{CHANGELIST}{source.pk}/merge/", {"into": into, "confirm": "1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{CHANGELIST}{source.pk}/change/"
    assert words in response.content.decode()
    assert Ticket.objects.get(pk=source.pk).status == TicketStatus.OPEN


def test_merge_and_link_need_post_and_the_change_permission(pair):
    source, target = pair
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = Client()
    client.force_login(viewer)
    assert "Merge into…" not in _page(client, source)
    assert (
        client.post(f"{CHANGELIST}{source.pk}/merge/", {"into": target.pk, "confirm": "1"}).status_code == 403
    )
    assert client.post(f"{CHANGELIST}{source.pk}/link/", {"ticket": target.pk}).status_code == 403
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None and not source.links.exists()
    client.force_login(UserFactory(username="root", is_superuser=True))
    assert client.get(f"{CHANGELIST}{source.pk}/merge/").status_code == 405


def test_links_are_added_shown_on_both_pages_and_removed(agent_client, agent, pair):
    one, two = pair
    response = agent_client.post(f"{CHANGELIST}{one.pk}/link/", {"ticket": two.reference}, follow=True)
    assert f"Linked {two.reference}." in response.content.decode()
    assert f'aria-label="Unlink {one.reference}"' in _page(agent_client, two)
    assert f"{agent.get_full_name()} linked {two.reference}" in _page(agent_client, one)

    response = agent_client.post(f"{CHANGELIST}{two.pk}/unlink/", {"ticket": one.pk}, follow=True)
    assert f"Unlinked {one.reference}." in response.content.decode()
    assert not one.links.exists()


def test_linking_a_ticket_to_itself_says_so(agent_client, pair):
    one, _ = pair
    response = agent_client.post(f"{CHANGELIST}{one.pk}/link/", {"ticket": one.pk}, follow=True)
    assert "A ticket cannot be linked to itself." in response.content.decode()


def test_merge_selected_into_one_merges_the_others_and_reports_refusals(agent_client, pair):
    source, target = pair
    closed = TicketFactory(status=TicketStatus.CLOSED)
    selected = [source.pk, target.pk, closed.pk]
    everything = CHANGELIST + "?status=all"
    form = agent_client.post(everything, {"action": "merge_selected", "_selected_action": selected})
    assert b'name="target"' in form.content and target.reference.encode() in form.content

    response = agent_client.post(
        everything,
        {"action": "merge_selected", "_selected_action": selected, "apply": "1", "target": target.pk},
        follow=True,
    )

    page = response.content.decode()
    assert f"Merged 1 ticket into {target.reference}." in page
    assert f"Not merged: {closed.reference}: {closed.reference} is closed" in page
    assert Ticket.objects.get(pk=source.pk).merged_into_id == target.pk


def test_merge_selected_needs_two_tickets(agent_client, pair):
    response = agent_client.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [pair[0].pk]}, follow=True
    )
    assert "Select at least two tickets to merge." in response.content.decode()


def test_the_ticket_page_is_constant_in_links_and_merged_tickets(admin_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    merging.ticket_merge(source=ticket, target=TicketFactory(status=TicketStatus.OPEN), actor=Actor())

    def add(i: int) -> None:
        merging.ticket_link(ticket=ticket, other=TicketFactory(), actor=Actor())
        TicketFactory(merged_into=ticket, status=TicketStatus.CLOSED)

    assert_constant(admin_client, f"{CHANGELIST}{ticket.pk}/change/", add)
