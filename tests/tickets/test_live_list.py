"""The live ticket list's endpoint: the changelist's filters, a watermark, constant queries."""

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tests.factories import TicketFactory, UserFactory
from tests.query_counts import assert_constant
from tickets import live
from tickets.admin.live import POLL_SECONDS
from tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db

LIVE = "/admin/tickets/ticket/live/"


def _touched(ticket: Ticket, seconds_ago: float) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds_ago))
    return ticket


def _since(seconds_ago: float = 60) -> str:
    return (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()


def _get(client, **params):
    return client.get(f"{LIVE}?{urlencode(params)}")


def test_the_first_call_gives_a_cursor_and_no_rows(agent_client):
    TicketFactory()
    before = timezone.now()

    body = agent_client.get(LIVE).json()

    assert body["changed"] == [] and body["rows"] == ""
    assert datetime.fromisoformat(body["cursor"]) >= before
    assert body["interval"] == POLL_SECONDS


def test_it_returns_tickets_changed_since_the_watermark_with_their_rows(agent_client):
    recent = _touched(TicketFactory(subject="Printer on fire"), 5)
    _touched(TicketFactory(subject="Old news"), 3600)

    body = _get(agent_client, since=_since(60)).json()

    assert [change["id"] for change in body["changed"]] == [recent.pk]
    assert "Printer on fire" in body["rows"] and "Old news" not in body["rows"]
    assert f'value="{recent.pk}"' in body["rows"]  # the row's own action checkbox
    assert body["removed"] == [] and body["truncated"] is False


def test_changes_just_before_the_watermark_are_read_again(agent_client):
    """A change whose transaction committed after the last answer was read is not lost."""
    late = _touched(TicketFactory(), 3)
    body = _get(agent_client, since=_since(0)).json()
    assert [change["id"] for change in body["changed"]] == [late.pk]


def test_the_lists_filters_are_honoured(agent_client, agent, other_agent):
    mine = _touched(TicketFactory(subject="Mine", assignee=agent), 5)
    theirs = _touched(TicketFactory(subject="Theirs", assignee=other_agent), 5)

    body = _get(agent_client, assignee="mine", since=_since()).json()

    assert [change["id"] for change in body["changed"]] == [mine.pk]
    assert body["removed"] == [theirs.pk]  # touched, and not (or no longer) in this list
    assert "Theirs" not in body["rows"]


def test_the_lists_search_is_honoured(agent_client):
    hit = _touched(TicketFactory(subject="Checkout is down"), 5)
    _touched(TicketFactory(subject="Password reset"), 5)

    body = _get(agent_client, q="checkout", since=_since()).json()

    assert [change["id"] for change in body["changed"]] == [hit.pk]


def test_a_ticket_resolved_out_of_the_active_list_is_reported_removed(agent_client):
    done = _touched(TicketFactory(status=TicketStatus.RESOLVED), 5)

    body = _get(agent_client, since=_since()).json()  # the default filter: active tickets

    assert body["changed"] == [] and body["removed"] == [done.pk]
    assert [c["id"] for c in _get(agent_client, status="all", since=_since()).json()["changed"]] == [done.pk]


def test_more_changes_than_the_limit_ask_for_a_reload(agent_client, monkeypatch):
    monkeypatch.setattr(live, "LIMIT", 2)
    for _ in range(3):
        _touched(TicketFactory(), 5)

    body = _get(agent_client, since=_since()).json()

    assert body["truncated"] is True and len(body["changed"]) == 2


@pytest.mark.parametrize("since", ["yesterday", "2026-13-40T25:00:00Z"])
def test_a_bad_watermark_is_a_400_naming_it(agent_client, since):
    response = _get(agent_client, since=since)
    assert response.status_code == 400
    assert response.json()["field"] == "since"


def test_an_unknown_filter_is_a_400_naming_the_filters(agent_client):
    response = _get(agent_client, no_such_field="1", since=_since())
    assert response.status_code == 400
    assert response.json()["field"] == "filters"


def test_a_watermark_at_the_start_of_time_returns_everything(agent_client):
    ticket = _touched(TicketFactory(), 3600)
    body = _get(agent_client, since="0001-01-01T00:00:00+00:00").json()
    assert [c["id"] for c in body["changed"]] == [ticket.pk]


def test_a_naive_watermark_is_read_as_utc(agent_client):
    recent = _touched(TicketFactory(), 5)
    naive = (timezone.now() - timedelta(seconds=60)).replace(tzinfo=None).isoformat()
    assert [c["id"] for c in _get(agent_client, since=naive).json()["changed"]] == [recent.pk]


def test_the_endpoint_is_for_staff_only(client):
    assert client.get(LIVE).status_code == 302  # to the admin login
    client.force_login(UserFactory(username="customer.care", is_staff=False))
    assert client.get(LIVE).status_code == 302


def test_staff_without_the_ticket_permission_get_403(client):
    client.force_login(UserFactory(username="no.role"))  # staff, in no role
    assert client.get(LIVE).status_code == 403


def test_its_query_count_does_not_grow_with_the_changes(agent_client):
    url = f"{LIVE}?{urlencode({'status': 'all', 'since': _since(600)})}"
    assert_constant(agent_client, url, lambda i: TicketFactory())
