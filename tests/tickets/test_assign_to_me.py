"""The ticket page's "Assign to me" (button and the `a` shortcut): a CSRF-protected POST that
gives the ticket to the requester through the assignment service."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import TicketFactory, UserFactory
from tickets.models import Ticket, TicketChange

pytestmark = pytest.mark.django_db


def url(ticket: Ticket) -> str:
    return f"/admin/tickets/ticket/{ticket.pk}/assign-to-me/"


def test_it_assigns_the_ticket_to_the_agent_and_records_them_as_the_actor(agent_client, agent, other_agent):
    ticket = TicketFactory(assignee=other_agent)

    response = agent_client.post(url(ticket), follow=True)

    assert response.redirect_chain == [(f"/admin/tickets/ticket/{ticket.pk}/change/", 302)]
    assert f"{ticket.reference} is yours now." in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
    change = TicketChange.objects.get(ticket=ticket, field=TicketChange.Field.ASSIGNEE)
    assert (change.actor, change.actor_name, change.old_value, change.new_value) == (
        agent,
        agent.username,
        str(other_agent),
        str(agent),
    )


def test_a_second_press_changes_nothing_and_says_so(agent_client, agent):
    ticket = TicketFactory()
    agent_client.post(url(ticket))
    updated_at = Ticket.objects.get(pk=ticket.pk).updated_at

    again = agent_client.post(url(ticket), follow=True)

    assert f"{ticket.reference} is already yours." in again.content.decode()
    assert TicketChange.objects.filter(ticket=ticket, field=TicketChange.Field.ASSIGNEE).count() == 1
    assert Ticket.objects.get(pk=ticket.pk).updated_at == updated_at


def test_a_get_changes_nothing(agent_client):
    ticket = TicketFactory()
    assert agent_client.get(url(ticket)).status_code == 405
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_a_post_without_the_csrf_token_is_refused(agent):
    ticket = TicketFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.post(url(ticket)).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).assignee is None

    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    token = page.context["csrf_token"]
    assert client.post(url(ticket), {"csrfmiddlewaretoken": token}).status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent


def test_staff_who_may_only_view_tickets_are_refused():
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    ticket = TicketFactory()
    client = Client()
    client.force_login(viewer)

    assert client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").status_code == 200
    assert "assign-to-me" not in client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert client.post(url(ticket)).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_anonymous_visitors_are_sent_to_log_in(client):
    ticket = TicketFactory()
    response = client.post(url(ticket))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


@pytest.mark.parametrize("object_id", ["999999", "not-a-number"])
def test_an_unknown_ticket_is_a_404(agent_client, object_id):
    assert agent_client.post(f"/admin/tickets/ticket/{object_id}/assign-to-me/").status_code == 404


def test_the_ticket_page_shows_the_button_and_the_shortcut_list(agent_client):
    ticket = TicketFactory()
    page = agent_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert f'action="{url(ticket)}"' in page
    assert 'id="shortcuts-help"' in page and "/tickets/shortcuts." in page
