"""A send task's HTTP deliveries go out several at once, in the task's thread and the process's
lanes: pacing and Retry-After still hold per channel, each is sent once, and the lanes keep
their connections for the next task and close them when closed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications.lanes import lanes_close
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import deliveries_send, delivery_create
from tests.notifications.fakes import Reply

# Committed rows: the threads' own connections must see them.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def queued(monkeypatch):
    from notifications import tasks

    sent: list[tuple[list[int], float | None]] = []
    monkeypatch.setattr(
        tasks.send_deliveries,
        "apply_async",
        lambda args, kwargs=None, countdown=None, **_: sent.append((args[0], countdown)),
    )
    return sent


def _notices(count: int, **fields: str) -> list[int]:
    return [
        delivery_create(
            channel="slack", recipient="#support", body=f"notice {n}", idempotency_key=f"round:{n}", **fields
        ).pk
        for n in range(count)
    ]


def test_a_round_to_one_slack_webhook_sends_one_and_defers_the_rest_without_using_attempts(
    slack, settings, queued
):
    settings.SLACK_MIN_INTERVAL_SECONDS = 30
    ids = _notices(3)
    queued.clear()

    statuses = deliveries_send(ids)

    assert sorted(statuses) == [DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.SENT]
    assert len(slack.requests) == 1, "the webhook's pacing holds across the round's threads"
    waiting = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING)
    assert [d.attempts for d in waiting] == [0, 0]
    assert sorted(ids_ for ids_, _ in queued) == sorted([d.pk] for d in waiting)
    assert all(countdown and countdown > 0 for _, countdown in queued)


def test_a_429_in_a_round_waits_its_retry_after_and_the_others_are_sent(slack, queued):
    slack.answer(Reply(429, "rate_limited", {"Retry-After": "120"}))
    ids = _notices(3)
    queued.clear()

    statuses = deliveries_send(ids)

    assert sorted(statuses) == [DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.SENT]
    [limited] = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING)
    assert limited.attempts == 0, "a 429 uses no attempt"
    assert limited.next_attempt_at >= timezone.now() + timedelta(seconds=100)
    assert queued == [([limited.pk], 120.0)]
    assert len(slack.delivered()) == 2


def test_a_task_sends_more_deliveries_than_threads_each_once_and_the_lanes_stay_for_the_next(
    slack, settings, queued
):
    settings.NOTIFICATIONS_SEND_THREADS = 3
    ids = _notices(7)

    assert deliveries_send(ids) == [DeliveryStatus.SENT] * 7
    lanes = _lanes()
    assert deliveries_send(ids) == [DeliveryStatus.SENT] * 7, "a duplicate task is a no-op"

    assert sorted(r.json()["text"] for r in slack.requests) == sorted(f"notice {n}" for n in range(7))
    assert len(lanes) == 2, "two lanes beside the task's thread"
    assert _lanes() == lanes, "the next task used the same lanes"
    lanes_close()  # as a worker process does when it exits
    assert _lanes() == set()


def _lanes() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "lane"}


def test_lanes_whose_connections_the_server_closed_reconnect_and_send_each_once(slack, settings, queued):
    """PostgreSQL restarted, or an idle-session timeout, between two tasks: the lanes' kept
    connections are gone, and the next task's sends still go out, once each."""
    if connection.vendor != "postgresql":
        pytest.skip("terminates PostgreSQL backends")
    settings.NOTIFICATIONS_SEND_THREADS = 3
    first = _notices(3)
    assert deliveries_send(first) == [DeliveryStatus.SENT] * 3
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1, "the lanes kept connections to lose"

    second = [
        delivery_create(
            channel="slack", recipient="#support", body=f"after {n}", idempotency_key=f"after:{n}"
        ).pk
        for n in range(3)
    ]
    assert deliveries_send(second) == [DeliveryStatus.SENT] * 3
    texts = sorted(r.json()["text"] for r in slack.requests)
    assert texts == sorted([f"notice {n}" for n in range(3)] + [f"after {n}" for n in range(3)])
