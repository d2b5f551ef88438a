"""Presence on the ticket page: heartbeats in the cache, expiry by a controllable clock."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from supporthub.roles import AGENT, sync_roles
from tests.factories import TicketFactory, UserFactory
from tickets import presence

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(presence, "clock", fake)
    return fake


@pytest.fixture
def ticket():
    """A ticket with no heartbeats left from an earlier run (ids restart with a new test
    database). Requested before cache_down, which would make this delete fail."""
    ticket = TicketFactory()
    cache.delete(f"presence:ticket:{ticket.pk}")
    return ticket


def _agent(username: str, first_name: str):
    sync_roles()
    user = UserFactory(username=username, first_name=first_name)
    user.groups.add(Group.objects.get(name=AGENT))
    return user


@pytest.fixture
def alice():
    return _agent("p.alice", "Alice")


@pytest.fixture
def erik():
    return _agent("p.erik", "Erik")


def _url(ticket) -> str:
    return f"/admin/tickets/ticket/{ticket.pk}/presence/"


def _client(user, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


# --- the service ---------------------------------------------------------------------------
def test_a_viewer_sees_the_others_and_not_themself(ticket, alice, erik, clock):
    assert presence.presence_beat(ticket_id=ticket.pk, user=erik, state="viewing") == []
    others = presence.presence_beat(ticket_id=ticket.pk, user=alice, state="viewing")
    assert [o.text for o in others] == ["Erik is viewing"]
    others = presence.presence_beat(ticket_id=ticket.pk, user=erik, state="typing")
    assert [o.text for o in others] == ["Alice is viewing"]
    assert [o.text for o in presence.presence_beat(ticket_id=ticket.pk, user=alice, state="viewing")] == [
        "Erik is typing a reply"
    ]


def test_a_viewer_whose_beats_stop_expires_after_the_ttl(ticket, alice, erik, clock):
    presence.presence_beat(ticket_id=ticket.pk, user=erik, state="viewing")
    clock.now += presence.TTL_SECONDS - 1
    assert [o.name for o in presence.presence_beat(ticket_id=ticket.pk, user=alice, state="viewing")] == [
        "Erik"
    ]
    clock.now += 2  # Erik's last beat is now TTL_SECONDS + 1 old
    assert presence.presence_beat(ticket_id=ticket.pk, user=alice, state="viewing") == []


def test_leaving_removes_the_viewer_at_once(ticket, alice, erik, clock):
    presence.presence_beat(ticket_id=ticket.pk, user=erik, state="viewing")
    presence.presence_beat(ticket_id=ticket.pk, user=erik, state="gone")
    assert presence.presence_beat(ticket_id=ticket.pk, user=alice, state="viewing") == []


def test_an_unknown_state_is_refused(ticket, alice):
    with pytest.raises(ValueError, match="state must be one of"):
        presence.presence_beat(ticket_id=ticket.pk, user=alice, state="dancing")


def test_with_the_cache_down_nobody_else_is_shown_and_nothing_raises(ticket, alice, cache_down):
    assert presence.presence_beat(ticket_id=ticket.pk, user=alice, state="viewing") == []


# --- the endpoint ----------------------------------------------------------------------------
def test_the_heartbeat_tells_who_else_is_viewing_or_typing(ticket, alice, erik):
    as_erik, as_alice = _client(erik), _client(alice)
    assert as_erik.post(_url(ticket), {"state": "viewing"}).json()["others"] == []

    body = as_alice.post(_url(ticket), {"state": "typing"}).json()
    assert body["others"] == [{"name": "Erik", "state": "viewing", "text": "Erik is viewing"}]
    assert body["interval"] == presence.HEARTBEAT_SECONDS
    assert as_erik.post(_url(ticket), {"state": "viewing"}).json()["others"][0]["text"] == (
        "Alice is typing a reply"
    )


def test_the_heartbeat_needs_a_csrf_token(ticket, alice):
    client = _client(alice, csrf=True)
    assert client.post(_url(ticket), {"state": "viewing"}).status_code == 403
    client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.post(_url(ticket), {"state": "viewing", "csrfmiddlewaretoken": token}).status_code == 200


def test_the_heartbeat_is_for_staff_only(ticket, client):
    assert client.post(_url(ticket), {"state": "viewing"}).status_code == 302  # to the login
    client.force_login(UserFactory(username="p.customer", is_staff=False))
    assert client.post(_url(ticket), {"state": "viewing"}).status_code == 302
    client.force_login(UserFactory(username="p.norole"))  # staff in no role: no ticket access
    assert client.post(_url(ticket), {"state": "viewing"}).status_code == 404


def test_bad_input_gets_a_clear_4xx(ticket, alice):
    client = _client(alice)
    response = client.post(_url(ticket), {"state": "dancing"})
    assert response.status_code == 400 and response.json()["field"] == "state"
    assert client.post("/admin/tickets/ticket/999999999/presence/", {"state": "viewing"}).status_code == 404
    assert client.post("/admin/tickets/ticket/abc/presence/", {"state": "viewing"}).status_code == 404
    assert client.get(_url(ticket)).status_code == 405


def test_heartbeats_are_rate_limited_per_agent(ticket, alice, erik, settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_PRESENCE = "2/m"
    client = _client(alice)
    assert [client.post(_url(ticket), {"state": "viewing"}).status_code for _ in range(2)] == [200, 200]
    response = client.post(_url(ticket), {"state": "viewing"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert _client(erik).post(_url(ticket), {"state": "viewing"}).status_code == 200  # Erik's own budget


def test_with_the_cache_down_the_heartbeat_answers_200_with_nobody(ticket, alice, cache_down, settings):
    settings.RATELIMIT_ENABLE = True  # the limiter's cache is down too: it fails open
    response = _client(alice).post(_url(ticket), {"state": "viewing"})
    assert response.status_code == 200
    assert response.json()["others"] == []
