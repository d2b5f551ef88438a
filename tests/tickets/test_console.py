"""The agent console (Django admin) without a browser: queries, actions, roles, services."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.pagination import forget_estimates
from supporthub.roles import ADMIN, sync_roles
from tests.factories import ContactFactory, TicketFactory, UserFactory
from tests.services import require_postgres
from tickets import services
from tickets.models import AgentShift, CannedReply, Ticket, TicketChange, TicketPriority, TicketStatus

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def test_changelist_runs_a_constant_number_of_queries(agent_client, agent):
    TicketFactory.create_batch(5, assignee=agent, sla_breached=True)

    def count():
        forget_estimates()  # each count starts cold: no planner estimate kept from the last one
        with CaptureQueriesContext(connection) as ctx:
            assert agent_client.get(CHANGELIST + "?status=all").status_code == 200
        return len(ctx.captured_queries)

    five = count()
    TicketFactory.create_batch(45, assignee=agent)
    assert count() == five


def test_a_long_list_shows_the_planners_estimate_instead_of_counting_every_ticket(agent_client, settings):
    require_postgres()
    settings.API_EXACT_COUNT_LIMIT = 2
    TicketFactory.create_batch(5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")  # an estimate from statistics, as in production
    forget_estimates()
    with CaptureQueriesContext(connection) as ctx:
        response = agent_client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 5
    assert not [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]


def test_default_list_shows_active_work_with_urgent_and_breached_first(agent_client):
    TicketFactory(subject="closed one", status=TicketStatus.CLOSED, priority=TicketPriority.URGENT)
    TicketFactory(subject="plain normal")
    TicketFactory(subject="breached normal", sla_breached=True)
    TicketFactory(subject="urgent new", priority=TicketPriority.URGENT)
    page = agent_client.get(CHANGELIST).content.decode()
    assert "closed one" not in page
    assert page.index("breached normal") < page.index("urgent new") < page.index("plain normal")


def test_done_or_all_tickets_are_listed_by_last_activity_and_a_column_still_orders_them(agent_client):
    earlier = TicketFactory(
        subject="closed urgent earlier", status=TicketStatus.CLOSED, priority=TicketPriority.URGENT
    )
    TicketFactory(subject="closed low later", status=TicketStatus.CLOSED, priority=TicketPriority.LOW)
    TicketFactory(subject="open breached", sla_breached=True)
    Ticket.objects.filter(pk=earlier.pk).update(updated_at=earlier.updated_at - timedelta(days=1))

    closed = agent_client.get(CHANGELIST + "?status=closed").content.decode()
    assert "open breached" not in closed
    assert closed.index("closed low later") < closed.index("closed urgent earlier")
    every = agent_client.get(CHANGELIST + "?status=all").content.decode()
    assert (
        every.index("open breached") < every.index("closed low later") < every.index("closed urgent earlier")
    )
    by_priority = agent_client.get(CHANGELIST + "?status=closed&o=-5").content.decode()  # priority column
    assert by_priority.index("closed urgent earlier") < by_priority.index("closed low later")


def test_filters_mine_and_unassigned(agent_client, agent, other_agent):
    TicketFactory(subject="mine", assignee=agent)
    TicketFactory(subject="theirs", assignee=other_agent)
    TicketFactory(subject="nobody's")
    mine = agent_client.get(CHANGELIST + "?assignee=mine").content.decode()
    assert "mine" in mine and "theirs" not in mine and "nobody" not in mine
    unassigned = agent_client.get(CHANGELIST + "?assignee=none").content.decode()
    assert "nobody" in unassigned and "theirs" not in unassigned


def test_search_finds_message_text_and_contact_email(agent_client):
    ticket = TicketFactory(subject="Billing", contact=ContactFactory(email="zed@example.com"))
    services.message_create(ticket=ticket, direction="inbound", body="my invoice shows the wrong VAT")
    TicketFactory(subject="Other")
    assert "Billing" in agent_client.get(CHANGELIST + "?q=VAT").content.decode()
    by_email = agent_client.get(CHANGELIST + "?q=zed@example.com").content.decode()
    assert "Billing" in by_email and "Other" not in by_email


def test_a_reference_email_or_phone_in_any_case_finds_its_tickets_without_the_full_search(agent_client):
    """An identifier that names tickets is one indexed lookup: no join to the messages, no
    DISTINCT over every column (the full search took 0.5 s at 100,000 tickets)."""
    contact = ContactFactory(email="zed@example.com", phone="+14155550123")
    named = TicketFactory(subject="Named one", contact=contact)
    TicketFactory(subject="Mentions it", description=f"see {named.reference} and zed@example.com")
    for term in (named.reference.lower(), "ZED@example.com", "+1 415 555 0123"):
        with CaptureQueriesContext(connection) as queries:
            page = agent_client.get(CHANGELIST, {"q": term}).content.decode()
        assert "Named one" in page and "Mentions it" not in page, term
        sql = " ".join(query["sql"] for query in queries.captured_queries)
        assert "tickets_message" not in sql and "DISTINCT" not in sql, term


def test_a_search_by_reference_finds_a_resolved_ticket_the_default_filter_hides(agent_client):
    closed = TicketFactory(subject="Long done", status=TicketStatus.CLOSED)
    assert "Long done" not in agent_client.get(CHANGELIST).content.decode()  # active only
    page = agent_client.get(CHANGELIST, {"q": closed.reference}).content.decode()
    assert "Long done" in page
    chosen = agent_client.get(CHANGELIST, {"q": closed.reference, "status": "active"}).content.decode()
    assert "Long done" not in chosen  # a status the agent chose still applies
    assert "Long done" not in agent_client.get(CHANGELIST, {"q": "Long"}).content.decode()  # free text


def test_an_identifier_no_ticket_has_falls_back_to_the_full_search(agent_client):
    ticket = TicketFactory(subject="Quoted", contact=ContactFactory(email="someone@example.com"))
    services.message_create(ticket=ticket, direction="inbound", body="my old ticket was SH-999999")
    page = agent_client.get(CHANGELIST, {"q": "sh-999999"}).content.decode()
    assert "Quoted" in page


def test_assign_to_me_action_goes_through_the_service_and_is_recorded(agent_client, agent):
    tickets = TicketFactory.create_batch(2)
    response = agent_client.post(
        CHANGELIST, {"action": "assign_to_me", "_selected_action": [t.pk for t in tickets]}, follow=True
    )
    assert "Updated 2 tickets" in response.content.decode()
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent.pk}
    change = TicketChange.objects.filter(field="assignee").first()
    assert change.actor == agent and change.new_value == str(agent)


def test_bulk_status_change_reports_tickets_it_could_not_change(agent_client):
    open_ticket = TicketFactory(status=TicketStatus.OPEN)
    closed = TicketFactory(status=TicketStatus.CLOSED)
    selected = [open_ticket.pk, closed.pk]
    # First the intermediate form, then the form posted back with `apply`.
    everything = CHANGELIST + "?status=all"  # the default view hides closed tickets
    form = agent_client.post(everything, {"action": "change_status", "_selected_action": selected})
    assert b'name="status"' in form.content
    response = agent_client.post(
        everything,
        {"action": "change_status", "_selected_action": selected, "apply": "1", "status": "pending"},
        follow=True,
    )
    page = response.content.decode()
    assert "Updated 1 ticket" in page
    assert f"Not changed: {closed.reference}: Cannot change status from closed to pending." in page
    assert Ticket.objects.get(pk=open_ticket.pk).status == TicketStatus.PENDING
    assert Ticket.objects.get(pk=closed.pk).status == TicketStatus.CLOSED


def test_assign_to_and_change_priority_actions(agent_client, other_agent):
    ticket = TicketFactory()
    agent_client.post(
        CHANGELIST,
        {"action": "assign_to", "_selected_action": [ticket.pk], "apply": "1", "assignee": other_agent.pk},
    )
    agent_client.post(
        CHANGELIST,
        {"action": "change_priority", "_selected_action": [ticket.pk], "apply": "1", "priority": "4"},
    )
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    assert ticket.priority == TicketPriority.URGENT


def test_ticket_page_reply_and_note_are_messages_by_the_agent(agent_client, agent):
    ticket = TicketFactory(status=TicketStatus.NEW)
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/")
    seen = page.context["adminform"].form["seen_updated_at"].value()
    response = agent_client.post(
        f"{CHANGELIST}{ticket.pk}/change/",
        {
            "subject": ticket.subject,
            "status": "new",
            "priority": ticket.priority,
            "assignee": "",
            "reply": "We are on it",
            "note": "VIP",
            "seen_updated_at": seen,
        },
    )
    assert response.status_code == 302, response.content
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_responded_at is not None
    assert list(ticket.messages.values_list("direction", "author_user")) == [
        ("outbound", agent.pk),
        ("note", agent.pk),
    ]


def test_ticket_page_refuses_an_illegal_status(agent_client):
    ticket = TicketFactory(status=TicketStatus.CLOSED)
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/")
    response = agent_client.post(
        f"{CHANGELIST}{ticket.pk}/change/",
        {
            "subject": ticket.subject,
            "status": "open",
            "priority": ticket.priority,
            "seen_updated_at": page.context["adminform"].form["seen_updated_at"].value(),
        },
    )
    assert response.status_code == 200
    assert "Cannot change status from closed to open." in response.content.decode()


def test_agents_cannot_see_api_keys_or_edit_sla_policies(agent_client):
    assert agent_client.get("/admin/rest_framework_api_key/apikey/").status_code == 403
    assert agent_client.get("/admin/tickets/slapolicy/").status_code == 200  # may look
    assert agent_client.post("/admin/tickets/slapolicy/1/change/", {}).status_code == 403


@pytest.mark.parametrize("model", ["ticket", "contact"])
def test_agents_see_neither_delete_nor_save_and_add_another(agent_client, client, model):
    ticket = TicketFactory()
    obj_pk = ticket.pk if model == "ticket" else ticket.contact_id
    base = f"/admin/tickets/{model}/"
    for url in (f"{base}{obj_pk}/change/", f"{base}add/"):
        page = agent_client.get(url).content.decode()
        assert 'name="_save"' in page, url
        assert 'name="_addanother"' not in page, url
        assert "deletelink" not in page, url
    assert "delete_selected" not in agent_client.get(base).content.decode()

    client.force_login(UserFactory(username="boss", is_superuser=True))
    page = client.get(f"{base}{obj_pk}/change/").content.decode()
    assert 'name="_addanother"' in page and "deletelink" in page


def test_admin_role_has_every_permission(client):
    from django.contrib.auth.models import Permission

    sync_roles()
    user = UserFactory(username="boss")
    user.groups.add(Group.objects.get(name=ADMIN))
    assert Group.objects.get(name=ADMIN).permissions.count() == Permission.objects.count()
    client.force_login(user)
    assert client.get("/admin/rest_framework_api_key/apikey/").status_code == 200


def test_dashboard_counts_active_work(agent_client):
    TicketFactory(priority=TicketPriority.URGENT)
    TicketFactory(sla_breached=True, status=TicketStatus.OPEN)
    TicketFactory(status=TicketStatus.CLOSED, sla_breached=True)
    page = agent_client.get("/admin/").context
    assert page is not None
    html = agent_client.get("/admin/").content.decode()
    assert "Urgent and unassigned" in html
    from tickets.selectors import console_summary

    summary = console_summary()
    assert summary["breached"] == 1
    assert summary["unassigned_urgent"] == 1
    assert dict(summary["by_status"]) == {"new": 1, "open": 1, "pending": 0}


def test_round_robin_gives_new_tickets_to_on_shift_agents_in_turn(settings, agent, other_agent):
    settings.AUTO_ASSIGN_ENABLED = True
    off_duty = UserFactory(username="carl")
    services.agent_shift_set(user=agent, on_shift=True)
    services.agent_shift_set(user=other_agent, on_shift=True)
    services.agent_shift_set(user=off_duty, on_shift=False)
    contact = ContactFactory()
    owners = [
        services.ticket_create(contact=contact, subject=f"t{i}", channel="api").assignee for i in range(4)
    ]
    assert owners[0] != owners[1]
    assert owners[:2] == owners[2:]
    assert off_duty not in owners
    assert AgentShift.objects.get(user=agent).last_assigned_at is not None


def test_nobody_on_shift_leaves_tickets_unassigned(settings):
    settings.AUTO_ASSIGN_ENABLED = True
    ticket = services.ticket_create(contact=ContactFactory(), subject="x", channel="api")
    assert ticket.assignee is None


def test_canned_replies_fill_placeholders_and_keep_unknown_ones(agent):
    ticket = TicketFactory(contact=ContactFactory(name="Dana"), reference="SH-4242")
    reply = CannedReply(title="t", body="Hi {contact_name}, re {reference} ({unknown}) — {agent_name}")
    text = reply.render(ticket=ticket, agent=agent)
    assert text == f"Hi Dana, re SH-4242 ({{unknown}}) — {agent.get_full_name()}"
    broken = CannedReply(title="b", body="stray { brace")
    assert broken.render(ticket=ticket) == "stray { brace"


def test_sla_clock_states(settings):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.sla import sla_clocks, sla_next_clock

    now = timezone.now()
    ticket = TicketFactory()
    ticket.created_at = now - timedelta(minutes=100)
    ticket.first_response_due = now + timedelta(minutes=10)  # 10% of the window left
    ticket.resolution_due = now + timedelta(hours=10)
    assert [c.state for c in sla_clocks(ticket, now)] == ["near", "ok"]
    assert sla_next_clock(ticket, now).name == "first response"
    ticket.first_responded_at = now - timedelta(minutes=1)
    assert sla_clocks(ticket, now)[0].state == "met"
    ticket.resolution_due = now - timedelta(minutes=1)
    assert sla_next_clock(ticket, now).state == "breached"


def test_ticket_page_shows_calls_with_their_voicemail(agent_client):
    from telephony.models import CallLog

    ticket = TicketFactory()
    CallLog.objects.create(
        call_sid="CA" + "1" * 32,
        direction="inbound",
        from_number="+14155550123",
        status="completed",
        outcome="voicemail",
        duration=42,
        recording_url="https://api.twilio.example/Recordings/RE1",
        recording_duration=17,
        transcript="Please call me back about my invoice",
        ticket=ticket,
    )
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/").content.decode()
    assert "Sent to voicemail" in page
    assert "https://api.twilio.example/Recordings/RE1" in page
    assert "Please call me back about my invoice" in page


def send(agent_client, ticket, **fields):
    """Post the ticket page as a send button does."""
    page = agent_client.get(f"{CHANGELIST}{ticket.pk}/change/")
    data = {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "seen_updated_at": page.context["adminform"].form["seen_updated_at"].value(),
        **fields,
    }
    return agent_client.post(f"{CHANGELIST}{ticket.pk}/change/", data)


def test_send_and_resolve_sends_the_reply_then_resolves_as_the_agent(agent_client, agent):
    ticket = TicketFactory(status=TicketStatus.NEW, contact=ContactFactory(email="dana@example.com"))
    response = send(agent_client, ticket, reply="Fixed, thanks!", send="resolved")
    assert response.status_code == 302, response.content
    assert response["Location"] == f"{CHANGELIST}{ticket.pk}/change/"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None
    reply = ticket.messages.get()
    assert (reply.direction, reply.author_user, reply.deliveries.get().recipient) == (
        "outbound",
        agent,
        "dana@example.com",
    )
    statuses = TicketChange.objects.filter(ticket=ticket, field="status").order_by("pk")
    assert [(c.old_value, c.new_value, c.actor) for c in statuses] == [
        ("new", "open", agent),
        ("open", "resolved", agent),
    ]


def test_send_and_set_pending_with_the_internal_toggle_adds_a_note_and_sends_nothing(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = send(agent_client, ticket, reply="Waiting on the carrier", internal="on", send="pending")
    assert response.status_code == 302, response.content
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    note = ticket.messages.get()
    assert (note.direction, note.channel, note.deliveries.count()) == ("note", "internal", 0)


def test_a_send_button_the_status_table_forbids_saves_nothing(agent_client):
    ticket = TicketFactory(status=TicketStatus.RESOLVED)
    response = send(agent_client, ticket, reply="One more thing", send="pending")
    assert response.status_code == 200
    assert "Cannot change status from resolved to pending." in response.content.decode()
    assert not ticket.messages.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED


def test_a_send_button_needs_text_and_no_other_status(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    empty = send(agent_client, ticket, send="resolved")
    assert "Write a reply (or a note) to send." in empty.content.decode()
    both = send(agent_client, ticket, reply="Hi", status="closed", send="resolved")
    assert "Choose a status here or with a send button, not both." in both.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    assert not ticket.messages.exists()


def test_when_the_status_change_fails_the_reply_is_not_saved_either(agent_client, monkeypatch):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    real_update = services.ticket_update

    def update(**changes):
        if changes.get("status"):
            raise RuntimeError("database went away")
        return real_update(**changes)

    monkeypatch.setattr(services, "ticket_update", update)
    with pytest.raises(RuntimeError):
        send(agent_client, ticket, reply="Fixed", send="resolved")
    assert not ticket.messages.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
