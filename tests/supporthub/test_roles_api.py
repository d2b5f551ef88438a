"""Least privilege in /v1: sessions get what the admin gives their role, API keys their scope.

The matrix is role or scope x endpoint x method -> status; every refusal is a 403 that
writes nothing.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from escalation import services as escalation_services
from escalation.models import Incident, Schedule, TriggerReason
from supporthub.roles import ADMIN, AGENT, KeyScope
from tests.conftest import in_role
from tests.factories import TicketFactory, UserFactory, make_api_key
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

Objects = dict[str, Any]

# name: (method, path, body, success status)
ENDPOINTS: dict[str, tuple[str, Callable[[Objects], str], Callable[[Objects], Any], int]] = {
    "list tickets": ("get", lambda o: "/v1/tickets", lambda o: None, 200),
    "create ticket": (
        "post",
        lambda o: "/v1/tickets",
        lambda o: {"subject": "S", "description": "D", "contact": {"name": "N", "email": "n@example.com"}},
        201,
    ),
    "update ticket": (
        "patch",
        lambda o: f"/v1/tickets/{o['ticket'].pk}",
        lambda o: {"priority": "high"},
        200,
    ),
    "list messages": ("get", lambda o: "/v1/messages", lambda o: None, 200),
    "add note": (
        "post",
        lambda o: "/v1/messages",
        lambda o: {"ticket": o["ticket"].pk, "direction": "note", "body": "Checked."},
        201,
    ),
    "intake": (
        "post",
        lambda o: "/v1/support/request",
        lambda o: {"channel": "chat", "name": "N", "subject": "S", "message": "M"},
        201,
    ),
    "list calls": ("get", lambda o: "/v1/calls", lambda o: None, 200),
    "list schedules": ("get", lambda o: "/v1/oncall/schedules", lambda o: None, 200),
    "schedule feed": ("get", lambda o: f"/v1/oncall/schedules/{o['schedule'].pk}.ics", lambda o: None, 200),
    "list incidents": ("get", lambda o: "/v1/incidents", lambda o: None, 200),
    "open incident": ("post", lambda o: "/v1/incidents", lambda o: {"title": "Site down"}, 201),
    "acknowledge incident": (
        "post",
        lambda o: f"/v1/incidents/{o['incident'].pk}/acknowledge",
        lambda o: None,
        200,
    ),
    "escalate incident": (
        "post",
        lambda o: f"/v1/incidents/{o['incident'].pk}/escalate",
        lambda o: None,
        200,
    ),
}
ALL = set(ENDPOINTS)
READS = {"list tickets", "list messages", "list calls", "list schedules", "schedule feed", "list incidents"}
AGENT_MAY = ALL - {"open incident"}  # the admin refuses agents new incidents too

ALLOWED: dict[str, set[str]] = {
    "session: Agent role": AGENT_MAY,
    "session: Admin role": ALL,
    "session: superuser": ALL,
    "session: staff without a role": set(),
    "key: intake-only": {"intake"},
    "key: read-only": READS,
    "key: agent": AGENT_MAY,
    "key: admin": ALL,
}


def client_for(principal: str) -> APIClient:
    client = APIClient()
    kind, _, who = principal.partition(": ")
    if kind == "key":
        client.credentials(HTTP_X_API_KEY=make_api_key(f"{who} key", scope=who))
        return client
    user = UserFactory(username="caller", is_superuser=who == "superuser")
    if who == "Agent role":
        in_role(user, AGENT)
    elif who == "Admin role":
        in_role(user, ADMIN)
    client.force_login(user)
    return client


@pytest.fixture
def objects(db) -> Objects:
    ticket = TicketFactory()
    incident, _ = escalation_services.incident_open(title="Disk full", reason=TriggerReason.API)
    return {"ticket": ticket, "incident": incident, "schedule": Schedule.objects.get(name="Support")}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("principal", sorted(ALLOWED))
def test_role_and_scope_matrix(principal: str, endpoint: str, objects: Objects):
    method, path, body, success = ENDPOINTS[endpoint]
    incidents = Incident.objects.count()
    client = client_for(principal)

    response = getattr(client, method)(path(objects), body(objects), format="json")

    expected = success if endpoint in ALLOWED[principal] else 403
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["code"] == "permission_denied"
        assert Incident.objects.count() == incidents


def test_scope_names_match_the_matrix():
    assert {p.partition(": ")[2] for p in ALLOWED if p.startswith("key")} == set(KeyScope.values)


def test_an_agent_cannot_open_an_incident_nor_page_anyone(objects):
    agent = in_role(UserFactory(username="agent-x"), AGENT)
    assert not agent.has_perm("escalation.add_incident")  # what the admin decides with
    client = APIClient()
    client.force_login(agent)
    response = client.post("/v1/incidents", {"title": "Paging everyone"}, format="json")
    assert response.status_code == 403
    assert "add" in response.json()["detail"]
    assert not Incident.objects.filter(title="Paging everyone").exists()


def test_a_key_without_a_scope_may_do_nothing(db):
    from rest_framework_api_key.models import APIKey

    _, raw = APIKey.objects.create_key(name="made outside SupportHub")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    response = client.get("/v1/tickets")
    assert response.status_code == 403
    assert "scope (none)" in response.json()["detail"]


def test_roles_exist(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {AGENT, ADMIN}


def test_incident_changes_through_the_api_record_the_key_or_user(objects, admin_user):
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=make_api_key("monitoring", scope=KeyScope.ADMIN))
    opened = key.post("/v1/incidents", {"title": "Checkout errors"}, format="json").json()
    key.post(f"/v1/incidents/{opened['id']}/acknowledge")
    session = APIClient()
    session.force_login(admin_user)
    events = session.post(f"/v1/incidents/{opened['id']}/resolve").json()["events"]

    assert [(e["kind"], e["actor_name"]) for e in events] == [
        ("triggered", "API key “monitoring”"),
        ("acknowledged", "API key “monitoring”"),
        ("resolved", "root"),
    ]
    assert "by API key “monitoring”" in events[1]["message"]
    assert events[2]["actor"]["username"] == "root"


def test_ticket_changes_through_the_api_record_the_key(objects):
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=make_api_key("crm sync", scope=KeyScope.AGENT))
    key.patch(f"/v1/tickets/{objects['ticket'].pk}", {"priority": "high"}, format="json")
    change = objects["ticket"].changes.get()
    assert (change.field, change.actor_name, change.actor) == ("priority", "API key “crm sync”", None)


def test_a_message_posted_with_a_key_names_the_key_as_its_author(objects):
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=make_api_key("helpdesk bot", scope=KeyScope.AGENT))
    body = {"ticket": objects["ticket"].pk, "direction": "note", "body": "Synced from CRM."}
    message = key.post("/v1/messages", body, format="json").json()
    assert message["author"] == {"type": "api_key", "id": None, "name": "API key “helpdesk bot”"}


def test_a_ticket_created_through_the_api_records_who_created_it(db):
    key = APIClient()
    key.credentials(HTTP_X_API_KEY=make_api_key("partner portal", scope=KeyScope.AGENT))
    body = {"subject": "S", "description": "D", "contact": {"name": "N", "email": "n@example.com"}}
    ticket = key.post("/v1/tickets", body, format="json").json()
    change = Ticket.objects.get(pk=ticket["id"]).changes.get()
    assert (change.field, change.old_value, change.new_value) == ("status", "", "new")
    assert (change.actor, change.actor_name) == (None, "API key “partner portal”")
