"""Deliveries' sends are queued when the transaction that wrote them commits: one task for
the deliveries written together, none for a rolled-back transaction, and nothing lost when
the broker is down."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import outbox, tasks
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import deliveries_requeue_stale, deliveries_save, delivery_create, delivery_new
from tickets.services import support_request_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[list[int]]:
    """The delivery ids of each send task published, in order (nothing reaches the broker)."""
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.send_deliveries, "apply_async", lambda args, *_, **__: sent.append(*args))
    return sent


def write_deliveries(count: int) -> list[int]:
    """`count` deliveries written together; their ids."""
    deliveries = [
        delivery_new(channel="email", recipient="a@example.com", body="b", idempotency_key=f"k{n}")
        for n in range(count)
    ]
    return [delivery.pk for delivery in deliveries_save(deliveries)]


def test_a_transaction_that_writes_three_deliveries_queues_one_task_for_them_on_commit(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ids = write_deliveries(3)
        assert published == []  # not before the commit
    assert published == [ids]


def test_a_delivery_created_on_its_own_is_queued_on_its_own(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = delivery_create(channel="email", recipient="a@example.com", body="b", idempotency_key="x")
        again = delivery_create(channel="email", recipient="a@example.com", body="b", idempotency_key="x")
    assert again.pk == first.pk
    assert published == [[first.pk]]  # the existing delivery is not queued again


def test_a_rolled_back_transaction_queues_nothing(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        write_deliveries(3)
        raise RuntimeError("the change failed")
    assert published == []
    assert not Delivery.objects.exists()


def test_a_new_tickets_notifications_are_queued_by_one_task_on_commit(
    published, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORT_TEAM_EMAIL = "team@example.com, lead@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        result = support_request_submit(
            channel="chat", name="Ann", email="ann@example.com", subject="Help", message="Hi"
        )
    assert published == [[delivery.pk for delivery in result.deliveries]]
    assert len(published[0]) == 3  # two team addresses and the acknowledgement


def test_with_the_broker_down_at_commit_the_deliveries_wait_for_the_sweep(
    monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.send_deliveries, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        ids = write_deliveries(3)  # the commit itself succeeds
    assert "left for the periodic sweep" in caplog.text
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}

    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.send_deliveries, "apply_async", lambda args, *_, **__: queued.append(*args))
    settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 60
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert deliveries_requeue_stale() == 3
    assert sorted(queued) == [[pk] for pk in sorted(ids)]  # a task each: every worker helps


def test_sends_batched_publishes_the_blocks_deliveries_a_batch_per_task_on_commit(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), outbox.sends_batched():
        ids = [
            delivery_create(channel="email", recipient="a@example.com", body="b", idempotency_key=f"b{n}").pk
            for n in range(outbox.SEND_BATCH + 3)
        ]
        with outbox.sends_batched():  # nested: the outer block publishes
            ids += write_deliveries(2)
        assert published == []
    assert published == [ids[: outbox.SEND_BATCH], ids[outbox.SEND_BATCH :]]


def test_sends_batched_in_a_rolled_back_transaction_publishes_nothing(
    published, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
        outbox.sends_batched(),
    ):
        write_deliveries(3)
        raise RuntimeError("the change failed")
    assert published == []


def test_when_the_broker_refuses_a_batch_the_rest_stay_pending_for_the_sweep(
    monkeypatch, django_capture_on_commit_callbacks
):
    attempts: list[list[int]] = []
    monkeypatch.setattr(outbox, "sends_publish", lambda ids, countdown=None: attempts.append(ids) and False)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), outbox.sends_batched():
        write_deliveries(outbox.SEND_BATCH * 2)
    assert len(attempts) == 1
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == outbox.SEND_BATCH * 2
