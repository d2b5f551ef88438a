"""What is retried, for how long, and what is never sent twice: permanent errors, 429s,
retry windows, and attempts whose answer never came (unconfirmed)."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from escalation import paging, services
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_create, delivery_retry, delivery_send
from supporthub.exceptions import DomainError
from tests.notifications.fakes import Reply

pytestmark = pytest.mark.django_db


def make(channel="email", recipient="carol@example.com", **kwargs):
    return delivery_create(
        channel=channel,
        recipient=recipient,
        subject=kwargs.pop("subject", "Hello"),
        body=kwargs.pop("body", "Body"),
        idempotency_key=kwargs.pop("key", f"{channel}:{recipient}:{timezone.now().timestamp()}"),
        **kwargs,
    )


def send(delivery):
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return outcome


def again(delivery):
    """Make the pending delivery due now and send it."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return send(delivery)


# --- errors that cannot succeed on retry -------------------------------------------------


def test_a_line_break_in_an_email_subject_fails_at_once_without_a_traceback(smtp, caplog):
    delivery = make(subject="Hello\r\nBcc: victim@example.com")
    with caplog.at_level(logging.INFO):
        outcome = send(delivery)
    assert outcome.retry_in is None
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "cannot be built" in delivery.last_error and "permanent" in delivery.last_error
    assert not [record for record in caplog.records if record.exc_info]
    assert smtp.messages == []


def test_an_unexpected_error_logs_its_traceback_on_the_first_attempt_only(monkeypatch, caplog):
    import notifications.channels.email as email_channel

    def boom(delivery):
        raise RuntimeError("bug")

    monkeypatch.setattr(email_channel, "send", boom)  # the vendor seam
    delivery = make()
    with caplog.at_level(logging.INFO):
        send(delivery)
        again(delivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 2
    assert len([record for record in caplog.records if record.exc_info]) == 1


# --- time, not attempts ------------------------------------------------------------------


def test_a_slack_429_waits_retry_after_and_uses_no_attempt(slack):
    delivery = make("slack", "#support")
    for _ in range(8):  # a storm longer than any attempt budget
        slack.answer(Reply(429, "rate_limited", {"Retry-After": "7"}))
        outcome = again(delivery)
        assert outcome.retry_in == 7
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    again(delivery)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


def test_a_twilio_429_uses_no_attempt(twilio):
    twilio.answer(twilio.error(429, 20429, "Too Many Requests"))
    delivery = make("sms", "+14155550123")
    assert send(delivery).retry_in is not None
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0


def test_transient_failures_are_retried_past_five_attempts_within_the_window(slack):
    delivery = make("slack", "#support")
    for _ in range(7):
        slack.answer(Reply(503, "busy"))
        again(delivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 7
    again(delivery)
    assert delivery.status == DeliveryStatus.SENT


def test_customer_messages_are_retried_for_an_hour_and_team_notices_for_a_day(settings):
    settings.NOTIFICATIONS_RETRY_WINDOW_CUSTOMER_SECONDS = 3600
    settings.NOTIFICATIONS_RETRY_WINDOW_TEAM_SECONDS = 86400
    customer = make(audience="customer", key="ack")
    team = make(recipient="team@support.example", key="team")
    assert customer.retry_until - customer.created_at == pytest.approx(
        timedelta(hours=1), abs=timedelta(seconds=5)
    )
    assert team.retry_until - team.created_at == pytest.approx(timedelta(days=1), abs=timedelta(seconds=5))


def test_a_transient_failure_after_the_window_dead_letters(slack):
    delivery = make("slack", "#support")
    Delivery.objects.filter(pk=delivery.pk).update(retry_until=timezone.now())
    slack.answer(Reply(500, "down"))
    assert send(delivery).retry_in is None
    assert delivery.status == DeliveryStatus.FAILED and "gave up after 1 attempts" in delivery.last_error


@pytest.mark.parametrize(
    "reply", ["451 4.3.0 Mail server temporarily rejected message", "450 4.2.1 Mailbox busy"]
)
def test_smtp_4xx_for_a_recipient_is_transient(smtp, reply):
    smtp.rcpt_replies["carol@example.com"] = reply
    delivery = make()
    assert send(delivery).retry_in is not None
    assert delivery.status == DeliveryStatus.PENDING and reply[:3] in delivery.last_error


def test_pages_are_retried_until_their_incident_is_acknowledged(twilio):
    incident = services.incident_trigger(reason="api", title="Checkout down")
    twilio.answer(twilio.error(503, 20500, "unavailable"))
    [saved] = paging.pages_save(
        [
            paging.page_new(
                incident=incident,
                channel="sms",
                recipient="+14155550101",
                body="Checkout down",
                idempotency_key="page:1",
            )
        ]
    )
    delivery = Delivery.objects.get(pk=saved.pk)
    assert delivery.audience == "page"
    send(delivery)
    assert delivery.status == DeliveryStatus.PENDING
    services.incident_acknowledge(incident=incident)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED and "acknowledged" in delivery.last_error
    assert again(delivery).claimed is False
    assert len(twilio.requests) == 1


# --- unconfirmed: the request went out, the answer never came ----------------------------


def test_a_customer_email_the_server_took_but_answered_too_late_is_never_sent_twice(smtp, settings):
    settings.EMAIL_TIMEOUT = 0.5
    smtp.data_delay = 1.5
    delivery = make(audience="customer")
    outcome = send(delivery)
    assert outcome.status == DeliveryStatus.UNCONFIRMED and outcome.retry_in is None
    assert delivery.status == DeliveryStatus.UNCONFIRMED and delivery.unconfirmed_at is not None
    assert "not sent twice" in delivery.last_error
    smtp.data_delay = 0
    assert again(delivery).claimed is False
    assert len(smtp.messages) == 1


def test_a_team_notice_is_sent_again_and_then_says_sent_unconfirmed(slack, settings):
    settings.SLACK_TIMEOUT_SECONDS = 0.3
    slack.answer(Reply(200, "ok", delay=1.0))
    delivery = make("slack", "#support")
    outcome = send(delivery)
    assert outcome.retry_in is not None
    assert delivery.status == DeliveryStatus.PENDING and delivery.unconfirmed_at is not None
    again(delivery)
    assert (
        delivery.status == DeliveryStatus.UNCONFIRMED and delivery.get_status_display() == "Sent, unconfirmed"
    )
    assert delivery.sent_at is not None and len(slack.requests) == 2


def test_a_manual_retry_of_an_unconfirmed_customer_message_needs_consent(smtp, settings):
    settings.EMAIL_TIMEOUT = 0.5
    smtp.data_delay = 1.5
    delivery = make(audience="customer")
    send(delivery)
    with pytest.raises(DomainError) as refused:
        delivery_retry(delivery=delivery)
    assert "may already have reached the customer" in refused.value.message
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.UNCONFIRMED
    smtp.data_delay = 0
    delivery = delivery_retry(delivery=delivery, resend_unconfirmed=True)
    send(delivery)
    assert delivery.status == DeliveryStatus.UNCONFIRMED and len(smtp.messages) == 2


def test_a_team_notice_that_went_unanswered_is_retried_without_consent(slack, settings):
    settings.SLACK_TIMEOUT_SECONDS = 0.3
    slack.answer(Reply(200, "ok", delay=1.0))
    delivery = make("slack", "#support")
    send(delivery)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    assert delivery_retry(delivery=delivery).status == DeliveryStatus.PENDING
