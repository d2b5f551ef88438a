"""Two agents saving one ticket's page at the same instant, on PostgreSQL: the form locks the
ticket's row while it checks the change, so the second save waits for the first, then is
refused as stale, with nothing written."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from supporthub.roles import AGENT, sync_roles
from tests.conftest import in_role
from tests.factories import TicketFactory, UserFactory
from tests.services import require_postgres
from tests.telephony.test_concurrency import race
from tickets import services
from tickets.models import Message, Ticket, TicketChange, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHANGELIST = "/admin/tickets/ticket/"


def _someone_waits_for_a_lock(timeout: float = 20.0) -> bool:
    """Whether another connection to the test database waits for a lock within `timeout`."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else fixed for the transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def test_the_second_of_two_racing_saves_waits_then_is_refused_and_writes_nothing(monkeypatch):
    require_postgres()
    sync_roles()
    ticket = TicketFactory(status=TicketStatus.OPEN)
    clients = []
    for name in ("alice", "bob"):
        client = Client()
        client.force_login(in_role(UserFactory(username=name), AGENT))
        clients.append(client)
    page = clients[0].get(f"{CHANGELIST}{ticket.pk}/change/")
    form = {
        "subject": ticket.subject,
        "priority": ticket.priority,
        "assignee": "",
        "seen_updated_at": page.context["adminform"].form["seen_updated_at"].value(),
    }
    # Alice's save holds the row (it has written, not committed) until Bob's waits for it.
    alice_saved = threading.Event()
    real_update = services.ticket_update

    def ticket_update(**kwargs):  # type: ignore[no-untyped-def]
        updated = real_update(**kwargs)
        if kwargs.get("status") == TicketStatus.PENDING:
            alice_saved.set()
            assert _someone_waits_for_a_lock()
        return updated

    monkeypatch.setattr(services, "ticket_update", ticket_update)

    def alice():  # type: ignore[no-untyped-def]
        return "alice", clients[0].post(f"{CHANGELIST}{ticket.pk}/change/", {**form, "status": "pending"})

    def bob():  # type: ignore[no-untyped-def]
        assert alice_saved.wait(timeout=20)
        data = {**form, "status": "resolved", "reply": "Fixed, thanks!"}
        return "bob", clients[1].post(f"{CHANGELIST}{ticket.pk}/change/", data)

    results = race(alice, bob)

    assert all(isinstance(result, tuple) for result in results), results
    first, second = (response for _, response in sorted(results, key=lambda result: result[0]))

    assert first.status_code == 302, first
    assert second.status_code == 200, second  # the page again, with the reason
    assert "Someone else changed this ticket while you had it open" in second.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.PENDING
    assert list(TicketChange.objects.filter(ticket=ticket).values_list("actor__username", "new_value")) == [
        ("alice", "pending")
    ]
    assert not Message.objects.filter(ticket=ticket).exists()
