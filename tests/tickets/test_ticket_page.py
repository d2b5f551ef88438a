"""The ticket page: a change another agent made meanwhile, the customer timeline."""

import pytest
from django.contrib.auth.models import Group

from supporthub.actors import Actor
from supporthub.roles import AGENT, sync_roles
from tickets import services
from tickets.admin.forms import TicketConsoleForm
from tickets.models import Ticket, TicketStatus
from tests.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def agent_client(client, agent):
    sync_roles()
    agent.groups.add(Group.objects.get(name=AGENT))
    client.force_login(agent)
    return client


def _page_data(agent_client, ticket, **fields):
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/")
    return {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "seen_updated_at": page.context["adminform"].form["seen_updated_at"].value(),
        **fields,
    }


@pytest.fixture
def closed_after_validation(monkeypatch):
    """Another agent closes the ticket after the form validated and before it is saved."""
    real_clean = TicketConsoleForm.clean

    def clean(form):
        cleaned = real_clean(form)
        services.ticket_update(
            ticket=form.instance, actor=Actor.of(UserFactory(username="bob")), status="closed"
        )
        return cleaned

    monkeypatch.setattr(TicketConsoleForm, "clean", clean)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"status": "resolved"}, "Cannot change status from closed to resolved."),
        ({"reply": "Fixed, thanks!", "send": "resolved"}, "is closed and takes no more messages."),
    ],
    ids=["status field", "send and resolve"],
)
def test_a_change_refused_after_validation_says_why_and_saves_nothing(
    agent_client, closed_after_validation, fields, why
):
    ticket = TicketFactory(status=TicketStatus.OPEN, subject="Before")
    data = _page_data(agent_client, ticket, subject="After", **fields)
    response = agent_client.post(f"{CHANGELIST}{ticket.pk}/change/", data, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Nothing was saved") and why in m for m in shown), shown
    ticket.refresh_from_db()
    # Everything rolled back, the other agent's close included (it ran in this request's transaction).
    assert (ticket.status, ticket.subject) == (TicketStatus.OPEN, "Before")
    assert not ticket.messages.exists()
    assert not Ticket.objects.get(pk=ticket.pk).changes.exists()
