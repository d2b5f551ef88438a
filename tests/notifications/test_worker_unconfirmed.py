"""A real worker on the real Redis: a slow provider that accepts a customer message but answers
after the timeout gets it exactly once; a Slack 429 storm uses no attempts."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from notifications.models import DeliveryStatus
from notifications.outbox import delivery_create
from tests.notifications.conftest import TWILIO_SID
from tests.notifications.fakes import FakeSlack, FakeTwilio, Reply
from tests.notifications.integration import FAST, slack_delivery, wait_for_status
from tests.notifications.processes import worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def providers():
    with FakeTwilio().running() as twilio, FakeSlack().running() as slack:
        yield twilio, slack


@pytest.fixture(scope="module")
def slow_provider_worker(tmp_path_factory, shared_redis, providers):
    twilio, slack = providers
    env = {
        **FAST,
        "SLACK_WEBHOOK_URL": slack.webhook_url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": "fake-token",
        "TWILIO_FROM_NUMBER": "+14155550100",
        "TWILIO_API_BASE_URL": twilio.url,
        "TWILIO_TIMEOUT_SECONDS": "0.5",
    }
    with worker(tmp_path_factory.mktemp("slow-provider"), broker_url=shared_redis, **env) as proc:
        yield proc


@pytest.fixture
def fakes(slow_provider_worker, providers):
    for server in providers:
        server.requests.clear()
        server.script.clear()
    return providers


def test_a_customer_sms_accepted_but_answered_after_the_timeout_is_received_once(fakes):
    twilio, _ = fakes
    twilio.answer(Reply(201, {"sid": "SM" + "1" * 32, "status": "queued"}, delay=1.5))
    with transaction.atomic():
        delivery = delivery_create(
            channel="sms",
            recipient="+14155550123",
            body="We received your request SH-1001",
            idempotency_key="it:ack-sms",
            audience="customer",
        )
    delivery = wait_for_status(
        delivery, {DeliveryStatus.UNCONFIRMED, DeliveryStatus.SENT, DeliveryStatus.FAILED}
    )
    threading.Event().wait(2.0)  # a retry (backoff 0.3 s) would have arrived by now
    assert delivery.status == DeliveryStatus.UNCONFIRMED and delivery.attempts == 1
    assert len(twilio.requests) == 1


def test_a_slack_429_storm_uses_no_attempts_and_the_notice_is_sent(fakes):
    _, slack = fakes
    slack.answer(*[Reply(429, "rate_limited", {"Retry-After": "0.2"}) for _ in range(6)])
    delivery = wait_for_status(slack_delivery("it:429"), {DeliveryStatus.SENT, DeliveryStatus.FAILED})
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert [request.answered for request in slack.requests] == [429] * 6 + [200]
