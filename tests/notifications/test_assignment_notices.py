"""An agent is told when someone else gives them a ticket, once per assignment: by email, and by
a Slack direct message from the app when there is a bot token."""

from urllib.parse import parse_qs

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from notifications.builders import assignment_notice
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_send
from supporthub.actors import Actor
from supporthub.roles import AGENT, sync_roles
from tests.factories import ContactFactory, TicketFactory, UserFactory
from tests.notifications.fakes import Reply
from tickets import services
from tickets.models import TicketChange

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def notices():
    return list(Delivery.objects.filter(idempotency_key__contains=":assigned:").order_by("pk"))


def test_an_agent_assigning_a_colleague_emails_the_colleague_once(agent, other_agent):
    ticket = TicketFactory(subject="Printer on fire")
    services.ticket_update(ticket=ticket, actor=Actor.of(agent), assignee=other_agent)
    services.ticket_update(ticket=ticket, actor=Actor.of(agent), assignee=other_agent)  # no change, no notice

    [notice] = notices()
    change = TicketChange.objects.get(ticket=ticket, field="assignee")
    assert (notice.channel, notice.recipient, notice.ticket) == ("email", other_agent.email, ticket)
    assert notice.subject == f"[{ticket.reference}] Assigned to you: Printer on fire"
    assert f"{agent.username} assigned ticket {ticket.reference} to you." in notice.body
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in notice.body
    assert notice.idempotency_key == f"ticket:{ticket.pk}:assigned:{change.pk}:email"

    # the same assignment told again (a retried task) queues nothing new
    assignment_notice(ticket=ticket, change=change, actor=Actor.of(agent))
    assert len(notices()) == 1


def test_each_new_assignment_is_told_and_unassigning_tells_nobody(agent, other_agent):
    ticket = TicketFactory()
    for assignee in (other_agent, None, other_agent):
        services.ticket_update(ticket=ticket, actor=Actor.of(agent), assignee=assignee)
    assert [n.recipient for n in notices()] == [other_agent.email, other_agent.email]


def test_agents_who_assign_themselves_are_not_told(agent):
    TicketFactory()
    services.ticket_take_next(agent=agent)
    services.ticket_update(ticket=TicketFactory(), actor=Actor.of(agent), assignee=agent)
    assert notices() == []


def test_round_robin_tells_the_agent_it_chose(settings, agent):
    settings.AUTO_ASSIGN_ENABLED = True
    services.agent_shift_set(user=agent, on_shift=True)
    ticket = services.ticket_create(contact=ContactFactory(), subject="Router", channel="api")
    [notice] = notices()
    assert (notice.recipient, notice.ticket) == (agent.email, ticket)
    assert "SupportHub assigned ticket" in notice.body


def test_an_api_patch_tells_the_assignee(api, agent):
    ticket = TicketFactory()
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"assignee": agent.pk}, format="json")
    assert response.status_code == 200, response.content
    [notice] = notices()
    assert notice.recipient == agent.email
    assert "API key" in notice.body


def test_the_console_form_and_bulk_action_tell_the_assignee(client, agent, other_agent):
    sync_roles()
    agent.groups.add(Group.objects.get(name=AGENT))
    client.force_login(agent)
    first, second = TicketFactory(), TicketFactory()
    page = client.get(f"{CHANGELIST}{first.pk}/change/")
    seen = page.context["adminform"].form["seen_updated_at"].value()
    response = client.post(
        f"{CHANGELIST}{first.pk}/change/",
        {
            "subject": first.subject,
            "status": first.status,
            "priority": first.priority,
            "assignee": other_agent.pk,
            "seen_updated_at": seen,
        },
    )
    assert response.status_code == 302, response.content
    response = client.post(
        CHANGELIST,
        {"action": "assign_to", "_selected_action": [second.pk], "apply": "1", "assignee": other_agent.pk},
    )
    assert response.status_code == 302
    assert [(n.recipient, n.ticket) for n in notices()] == [
        (other_agent.email, first),
        (other_agent.email, second),
    ]


def test_an_assignee_without_an_email_address_is_logged(agent, caplog):
    mute = UserFactory(username="mute", email="")
    services.ticket_update(ticket=TicketFactory(), actor=Actor.of(agent), assignee=mute)
    assert notices() == []
    assert "no email address" in caplog.text


def test_a_ticket_created_with_an_assignee_tells_them_and_records_who_assigned_it(api, agent):
    body = {
        "subject": "VPN down",
        "contact": {"name": "Dan", "email": "dan@example.com"},
        "assignee": agent.pk,
    }
    response = api.post("/v1/tickets", body, format="json")
    assert response.status_code == 201, response.content
    change = TicketChange.objects.get(ticket_id=response.json()["id"], field="assignee")
    assert (change.new_value, change.actor_name.startswith("API key")) == (str(agent), True)
    [notice] = notices()
    assert (notice.recipient, notice.idempotency_key) == (
        agent.email,
        f"ticket:{change.ticket_id}:assigned:{change.pk}:email",
    )


def _send(notice: Delivery) -> Delivery:
    delivery_send(delivery_id=notice.pk)
    notice.refresh_from_db()
    return notice


def test_with_the_slack_api_the_assignee_also_gets_a_direct_message(slack_api, agent, other_agent):
    slack_api.members["U0COLLEAGUE"] = other_agent.email
    ticket = TicketFactory(subject="<!channel> printer on fire")
    services.ticket_update(ticket=ticket, actor=Actor.of(agent), assignee=other_agent)

    email, direct = notices()
    change = TicketChange.objects.get(ticket=ticket, field="assignee")
    assert email.channel == "email"
    assert (direct.channel, direct.recipient, direct.payload) == (
        "slack",
        other_agent.email,
        {"direct": True},
    )
    assert direct.idempotency_key == f"ticket:{ticket.pk}:assigned:{change.pk}:slack"
    assert _send(direct).status == DeliveryStatus.SENT
    [lookup] = slack_api.calls("users.lookupByEmail")
    assert parse_qs(lookup.body.decode())["email"] == [other_agent.email]
    [post] = slack_api.calls("chat.postMessage")
    body = post.json()
    assert body["channel"] == "U0COLLEAGUE", "a direct message from the app to the member"
    assert f"/admin/tickets/ticket/{ticket.pk}/change/|{ticket.reference}>" in body["text"]
    assert "&lt;!channel&gt; printer on fire" in body["text"] and "<!channel>" not in body["text"]
    assert direct.provider_id.startswith("U0COLLEAGUE:")

    assignment_notice(ticket=ticket, change=change, actor=Actor.of(agent))  # told again: nothing new
    assert len(notices()) == 2


def test_an_assignee_slack_does_not_know_gets_the_email_and_the_direct_message_is_skipped(
    slack_api, agent, other_agent
):
    services.ticket_update(ticket=TicketFactory(), actor=Actor.of(agent), assignee=other_agent)
    email, direct = notices()
    assert _send(direct).status == DeliveryStatus.SKIPPED
    assert direct.last_error == f"no Slack member has the email address {other_agent.email}"
    assert slack_api.calls("chat.postMessage") == []
    assert email.channel == "email"


def test_slack_failing_to_look_up_the_member_is_retried_and_sends_one_message(slack_api, agent, other_agent):
    slack_api.members["U0COLLEAGUE"] = other_agent.email
    slack_api.answer(Reply(503, {"ok": False, "error": "service_unavailable"}))
    services.ticket_update(ticket=TicketFactory(), actor=Actor.of(agent), assignee=other_agent)
    _, direct = notices()

    assert _send(direct).status == DeliveryStatus.PENDING, "a 503 is transient"
    Delivery.objects.filter(pk=direct.pk).update(next_attempt_at=timezone.now())
    assert _send(direct).status == DeliveryStatus.SENT
    assert len(slack_api.calls("users.lookupByEmail")) == 2
    assert len(slack_api.calls("chat.postMessage")) == 1


def test_without_a_bot_token_there_is_no_direct_message(settings, agent, other_agent):
    settings.SLACK_BOT_TOKEN = ""
    services.ticket_update(ticket=TicketFactory(), actor=Actor.of(agent), assignee=other_agent)
    assert [n.channel for n in notices()] == ["email"]
