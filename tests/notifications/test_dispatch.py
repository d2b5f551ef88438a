"""Sends queued in bursts: committed deliveries wait in Redis for one dispatch run, which
queues one send task each; nothing is lost when Redis or the broker is down."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import dispatch, tasks
from notifications.models import Delivery, DeliveryStatus
from notifications.services import deliveries_requeue_stale, delivery_create
from tests.services import redis_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, tuple]]:
    """Every task the code publishes, in order (nothing reaches the broker)."""
    redis_url()
    sent: list[tuple[str, tuple]] = []
    for task in (tasks.send_delivery, tasks.sends_dispatch):
        monkeypatch.setattr(
            task, "apply_async", lambda args=(), name=task.name, **_: sent.append((name, args))
        )
    return sent


def committed_deliveries(count: int, capture, start: int = 0) -> list[int]:
    with capture(execute=True):
        return [
            delivery_create(channel="email", recipient="a@example.com", body="b", idempotency_key=f"k{i}").pk
            for i in range(start, start + count)
        ]


def test_a_burst_of_deliveries_queues_one_run_which_queues_each_send_once(
    published, django_capture_on_commit_callbacks
):
    ids = committed_deliveries(5, django_capture_on_commit_callbacks)
    assert published == [("notifications.sends_dispatch", ())]
    published.clear()
    assert dispatch.sends_dispatch_run() == 5
    assert published == [("notifications.send_delivery", (pk,)) for pk in ids]
    assert dispatch.sends_dispatch_run() == 0  # drained


def test_the_deliveries_of_one_transaction_are_pushed_by_one_command(
    published, settings, django_capture_on_commit_callbacks
):
    """A new ticket's notifications (two team addresses and the acknowledgement) reach
    Redis in one EVALSHA at commit, in order, and queue one run."""
    from supporthub.cache_client import redis_of
    from tickets.services import support_request_submit

    settings.SUPPORT_TEAM_EMAIL = "team@example.com, lead@example.com"
    client = redis_of()
    client.script_load(dispatch._PUSH_SCRIPT.script)
    before = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = support_request_submit(
            channel="chat", name="Ann", email="ann@example.com", subject="Help", message="Hi"
        )
    ids = [delivery.pk for delivery in result.deliveries]
    assert len(ids) == 3
    assert client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0) == before + 1
    assert len([c for c in callbacks if getattr(c, "func", None) is dispatch.sends_queue]) == 1
    assert published == [("notifications.sends_dispatch", ())]
    published.clear()
    assert dispatch.sends_dispatch_run() == 3
    assert published == [("notifications.send_delivery", (pk,)) for pk in ids]


def test_a_delivery_committed_after_a_run_started_queues_the_next_run(
    published, django_capture_on_commit_callbacks
):
    (first,) = committed_deliveries(1, django_capture_on_commit_callbacks)
    assert dispatch.sends_dispatch_run() == 1  # clears the marker, then drains the list
    (second,) = committed_deliveries(1, django_capture_on_commit_callbacks, start=1)
    assert published == [
        ("notifications.sends_dispatch", ()),
        ("notifications.send_delivery", (first,)),
        ("notifications.sends_dispatch", ()),  # the marker was cleared: a new run
    ]
    published.clear()
    assert dispatch.sends_dispatch_run() == 1
    assert published == [("notifications.send_delivery", (second,))]


def test_a_broker_down_at_commit_leaves_no_marker_so_the_next_commit_queues_the_run(
    monkeypatch, published, django_capture_on_commit_callbacks
):
    broker_up = False
    record = tasks.sends_dispatch.apply_async

    def flaky(*args, **kwargs):
        if not broker_up:
            raise ConnectionError("broker down")
        return record(*args, **kwargs)

    monkeypatch.setattr(tasks.sends_dispatch, "apply_async", flaky)
    (first,) = committed_deliveries(1, django_capture_on_commit_callbacks)
    assert published == []
    broker_up = True
    (second,) = committed_deliveries(1, django_capture_on_commit_callbacks, start=1)
    assert published == [("notifications.sends_dispatch", ())]
    published.clear()
    assert dispatch.sends_dispatch_run() == 2  # the first id waited in the list
    assert published == [
        ("notifications.send_delivery", (first,)),
        ("notifications.send_delivery", (second,)),
    ]


def test_with_the_cache_down_a_committed_delivery_is_left_to_the_sweep(
    cache_down, published, settings, django_capture_on_commit_callbacks
):
    (pk,) = committed_deliveries(1, django_capture_on_commit_callbacks)
    assert published == []  # nothing could be queued
    settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 60
    Delivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert deliveries_requeue_stale() == 1
    assert published == [("notifications.send_delivery", (pk,))]
    assert Delivery.objects.get(pk=pk).status == DeliveryStatus.PENDING
