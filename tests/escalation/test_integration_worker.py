"""With a real Celery worker on Redis, an urgent ticket's first page goes out without waiting for beat."""

from __future__ import annotations

import time
from datetime import date

import pytest

from escalation.models import IncidentPage
from tests.escalation.conftest import add_layer
from tests.factories import ContactFactory
from tests.services import EVENTUALLY, celery_worker, require_postgres
from tickets import services as ticket_services
from tickets.models import TicketPriority


@pytest.fixture
def fresh_broker_pools():
    """Leave no pooled broker connection behind: tests/services.broker() force-closes the shared
    kombu pool for a URL, and a pool this test created would then be handed out closed."""
    import kombu.pools

    from supporthub.celery import app

    yield
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_on_commit_kick_pages_the_oncall_person_through_a_real_worker(
    tmp_path, support_schedule, dana, fresh_broker_pools
):
    require_postgres()
    add_layer(support_schedule, [dana], unit="weeks", start=date(2026, 1, 1))
    with celery_worker(tmp_path, concurrency=1):
        ticket = ticket_services.ticket_create(
            contact=ContactFactory(), subject="Outage", channel="email", priority=TicketPriority.URGENT
        )
        deadline = time.monotonic() + EVENTUALLY
        while (
            time.monotonic() < deadline and not IncidentPage.objects.filter(incident__ticket=ticket).exists()
        ):
            time.sleep(0.1)
    pages = IncidentPage.objects.filter(incident__ticket=ticket).order_by("id")
    assert [(p.channel, p.recipient, p.status) for p in pages] == [
        ("sms", "+14155550101", "sent"),
        ("voice", "+14155550101", "sent"),
    ], (tmp_path / "worker.log").read_text()[-3000:]
