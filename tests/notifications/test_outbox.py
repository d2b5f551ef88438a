"""The outbox services: create once, claim before sending, retry, dead-letter, sweep."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import (
    deliveries_requeue_stale,
    delivery_create,
    delivery_retry,
    delivery_send,
    retry_delay,
)
from supporthub.exceptions import DomainError
from tests.factories import TicketFactory
from tests.notifications.fakes import Reply

pytestmark = pytest.mark.django_db


def make(**kwargs):
    values = {
        "channel": "email",
        "recipient": "carol@example.com",
        "subject": "Hello",
        "body": "Body",
        "idempotency_key": "test:1",
    }
    values.update(kwargs)
    return delivery_create(**values)


def test_creating_a_delivery_twice_with_the_same_key_returns_the_first(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = make()
        second = make(body="other")
    assert first.pk == second.pk
    assert Delivery.objects.count() == 1
    assert len(callbacks) == 1, "the send is queued once, on commit"


def test_a_delivery_starts_pending_and_due_now():
    delivery = make()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at <= timezone.now()
    assert delivery.attempts == 0


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("channel", {"channel": "fax"}),
        ("recipient", {"recipient": " "}),
        ("idempotency_key", {"idempotency_key": ""}),
    ],
)
def test_creating_a_delivery_with_bad_input_names_the_field(field, kwargs):
    with pytest.raises(DomainError) as caught:
        make(**kwargs)
    assert caught.value.field == field


def test_sending_an_email_marks_it_sent_with_the_provider_id():
    delivery = make(payload={"html": "<p>Body</p>", "headers": {"Message-ID": "<abc@x>"}})
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.status == delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == "<abc@x>"
    assert delivery.attempts == 1 and delivery.sent_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].alternatives[0][0] == "<p>Body</p>"


def test_a_sent_delivery_is_never_sent_again():
    delivery = make()
    delivery_send(delivery_id=delivery.pk)
    outcome = delivery_send(delivery_id=delivery.pk)
    assert not outcome.claimed
    assert len(mail.outbox) == 1


def test_a_delivery_being_sent_elsewhere_is_left_alone():
    delivery = make()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)
    assert delivery_send(delivery_id=delivery.pk).claimed is False
    assert mail.outbox == []


def test_a_retry_that_comes_too_early_is_ignored():
    delivery = make()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert delivery_send(delivery_id=delivery.pk).claimed is False


def test_sending_a_missing_delivery_is_a_no_op():
    assert delivery_send(delivery_id=999_999).status == "missing"


def test_an_invalid_email_address_fails_permanently_with_the_reason():
    delivery = make(recipient="not-an-address")
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.retry_in is None
    assert delivery.status == DeliveryStatus.FAILED
    assert "not a valid email address" in delivery.last_error


def test_an_sms_to_an_invalid_number_fails_permanently(twilio):
    delivery = make(channel="sms", recipient="0123")
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "country code" in delivery.last_error
    assert twilio.requests == []


def test_the_console_email_backend_marks_deliveries_skipped_not_sent(settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    delivery = make()
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "printed, not delivered" in delivery.last_error
    assert "carol@example.com" in capsys.readouterr().out


def test_a_channel_without_credentials_is_skipped_and_logged(caplog):
    delivery = make(channel="slack", recipient="#support", body="would say this")
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "SLACK_WEBHOOK_URL" in delivery.last_error
    assert "would say this" in caplog.text


def test_transient_errors_are_retried_until_the_window_ends_then_dead_lettered(slack, settings):
    slack.answer(Reply(500, "oops"), Reply(503, "busy"), Reply(500, "still"))
    delivery = make(channel="slack", recipient="#support")
    first = delivery_send(delivery_id=delivery.pk)
    assert first.status == DeliveryStatus.PENDING and first.retry_in is not None
    window_end = timezone.now() + timedelta(seconds=0.05)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(), retry_until=window_end)
    second = delivery_send(delivery_id=delivery.pk)
    assert second.status == DeliveryStatus.PENDING
    assert second.retry_in is not None and second.retry_in <= 0.05, "the last try is at the window's end"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(), retry_until=timezone.now())
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.status == DeliveryStatus.FAILED and outcome.retry_in is None
    assert delivery.attempts == 3
    assert "gave up after 3 attempts" in delivery.last_error
    assert Delivery.objects.dead_letters().get() == delivery


def test_backoff_grows_has_jitter_and_honours_retry_after(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 1000
    assert 5 <= retry_delay(1) <= 10
    assert 20 <= retry_delay(3) <= 40
    assert len({retry_delay(4) for _ in range(20)}) > 1
    assert retry_delay(1, retry_after=120) == 120
    assert retry_delay(30) <= 1000


def test_an_unexpected_adapter_error_is_retried(settings, monkeypatch):
    import notifications.channels.email as email_channel

    def boom(delivery):
        raise RuntimeError("bug")

    monkeypatch.setattr(email_channel, "send", boom)  # the vendor seam
    delivery = make()
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.retry_in is not None
    assert delivery.status == DeliveryStatus.PENDING and "RuntimeError" in delivery.last_error


def test_retrying_a_dead_letter_queues_it_with_fresh_attempts(django_capture_on_commit_callbacks):
    delivery = make(recipient="bad")
    delivery_send(delivery_id=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(recipient="carol@example.com")
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = delivery_retry(delivery=Delivery.objects.get(pk=delivery.pk))
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert len(callbacks) == 1
    delivery_send(delivery_id=delivery.pk)
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT


def test_a_sent_delivery_cannot_be_retried():
    delivery = make()
    delivery_send(delivery_id=delivery.pk)
    with pytest.raises(DomainError):
        delivery_retry(delivery=delivery)


def test_the_sweep_requeues_overdue_pending_and_stuck_sending_deliveries(settings, monkeypatch):
    from notifications import tasks

    queued = []
    monkeypatch.setattr(tasks.send_deliveries, "apply_async", lambda args, *_, **__: queued.extend(args[0]))
    settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=10)
    fresh = make(idempotency_key="fresh")
    overdue = make(idempotency_key="overdue")
    stuck = make(idempotency_key="stuck")
    hopeless = make(idempotency_key="hopeless")
    customer = make(idempotency_key="ack", audience="customer")
    sending = make(idempotency_key="sending-now")
    Delivery.objects.filter(pk=overdue.pk).update(next_attempt_at=long_ago)
    Delivery.objects.filter(pk=stuck.pk).update(
        status=DeliveryStatus.SENDING, next_attempt_at=long_ago, attempts=1
    )
    Delivery.objects.filter(pk=hopeless.pk).update(
        status=DeliveryStatus.SENDING, next_attempt_at=long_ago, attempts=5, retry_until=long_ago
    )
    Delivery.objects.filter(pk=customer.pk).update(status=DeliveryStatus.SENDING, next_attempt_at=long_ago)
    Delivery.objects.filter(pk=sending.pk).update(
        status=DeliveryStatus.SENDING, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert deliveries_requeue_stale() == 2
    assert sorted(queued) == sorted([overdue.pk, stuck.pk])
    assert Delivery.objects.get(pk=stuck.pk).status == DeliveryStatus.PENDING
    assert Delivery.objects.get(pk=stuck.pk).unconfirmed_at is not None, "the lost worker may have sent it"
    assert Delivery.objects.get(pk=hopeless.pk).status == DeliveryStatus.FAILED
    assert Delivery.objects.get(pk=customer.pk).status == DeliveryStatus.UNCONFIRMED, "never sent twice"
    assert Delivery.objects.get(pk=sending.pk).status == DeliveryStatus.SENDING
    assert fresh.pk not in queued
    # Just re-queued: not queued again by the next sweep.
    assert deliveries_requeue_stale() == 0


def test_the_sweep_stops_quietly_when_the_broker_is_down(settings, monkeypatch):
    from notifications import tasks

    def down(*args, **options):
        raise ConnectionError("redis down")

    monkeypatch.setattr(tasks.send_deliveries, "apply_async", down)
    overdue = make()
    Delivery.objects.filter(pk=overdue.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert deliveries_requeue_stale() == 0
    assert Delivery.objects.get(pk=overdue.pk).status == DeliveryStatus.PENDING


def test_deliveries_link_to_their_ticket():
    ticket = TicketFactory()
    delivery = make(ticket=ticket)
    assert list(ticket.deliveries.all()) == [delivery]
    assert str(delivery) == "email to carol@example.com (pending)"


def test_the_send_task_sends_each_delivery_once_and_reports_their_statuses():
    from notifications.tasks import send_deliveries

    ids = [make(idempotency_key="a").pk, make(idempotency_key="b").pk]
    assert send_deliveries.apply(args=(ids,)).get() == [DeliveryStatus.SENT] * 2
    assert send_deliveries.apply(args=(ids,)).get() == [DeliveryStatus.SENT] * 2  # a duplicate: no-op
    assert len(mail.outbox) == 2


def test_a_delivery_that_must_wait_is_queued_again_on_its_own_after_its_countdown(slack, monkeypatch):
    from notifications import tasks

    queued = []
    monkeypatch.setattr(
        tasks.send_deliveries,
        "apply_async",
        lambda args, kwargs=None, countdown=None, **_: queued.append((*args, countdown)),
    )
    slack.answer(Reply(503, "busy"))
    waiting = make(channel="slack", recipient="#support", idempotency_key="slack")
    other = make(idempotency_key="email")

    statuses = tasks.send_deliveries.apply(args=([waiting.pk, other.pk],)).get()

    assert statuses == [DeliveryStatus.PENDING, DeliveryStatus.SENT]  # the other is not held up
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.PENDING and waiting.attempts == 1
    [(ids, countdown)] = queued
    assert ids == [waiting.pk] and countdown > 0
    assert waiting.next_attempt_at > timezone.now() - timedelta(seconds=1)


def test_the_beat_task_runs_the_sweep():
    from notifications.tasks import requeue_stale_deliveries

    assert requeue_stale_deliveries.apply().get() == 0
