"""Two engines running at once never page twice (real PostgreSQL row locks)."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest
import redis
from django.db import connection
from django.utils import timezone

from escalation import engine, services
from escalation.models import Incident, IncidentEvent, IncidentPage
from tests.services import require_postgres

INCIDENTS = 120


@pytest.fixture
def no_stale_send_tasks():
    """Committed Deliveries queue send tasks on Redis; drop them so no later worker picks them up."""
    yield
    url = os.environ.get("REDIS_URL")
    if url:
        redis.Redis.from_url(url).flushdb()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_engine_runs_never_page_twice(two_step_policy, monkeypatch, no_stale_send_tasks):
    require_postgres()
    monkeypatch.setattr(engine, "BATCH", 10)  # small batches so both engines get work
    snapshot = services.policy_snapshot(two_step_policy)
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(title=f"load {i}", policy=two_step_policy, policy_snapshot=snapshot, next_step_at=now)
        for i in range(INCIDENTS)
    )
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []
    results: list[int] = []

    def run(kick: bool) -> None:
        try:
            barrier.wait(timeout=10)
            if kick:  # the on-commit kick racing the beat tick
                for incident_id in Incident.objects.values_list("pk", flat=True):
                    if engine.incident_advance(incident_id=incident_id):
                        results.append(1)
            else:
                results.append(engine.escalation_tick().steps)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(kick,)) for kick in (False, False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(results) == INCIDENTS  # each first step ran exactly once in total
    per_incident = Counter(IncidentPage.objects.values_list("incident_id", flat=True))
    assert len(per_incident) == INCIDENTS and set(per_incident.values()) == {2}
    paged = Counter(IncidentEvent.objects.filter(kind="paged").values_list("incident_id", flat=True))
    assert set(paged.values()) == {1}
    assert set(Incident.objects.values_list("current_step", flat=True)) == {1}
    from notifications.models import Delivery

    assert Delivery.objects.count() == 2 * INCIDENTS  # one outbox row per page, none twice
