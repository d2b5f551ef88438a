"""A real Celery worker on the real Redis sends each delivery once, retries, and dead-letters."""

from __future__ import annotations

import threading

import pytest

from notifications.models import DeliveryStatus
from tests.notifications.fakes import FakeSlack, Reply
from tests.notifications.integration import FAST, slack_delivery, wait_for_status
from tests.notifications.processes import worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def module_slack():
    with FakeSlack().running() as server:
        yield server


@pytest.fixture(scope="module")
def shared_worker(tmp_path_factory, shared_redis, module_slack):
    """One worker for the simple tests (a worker takes seconds to start and stop)."""
    tmp_path = tmp_path_factory.mktemp("shared-worker")
    with worker(
        tmp_path, broker_url=shared_redis, SLACK_WEBHOOK_URL=module_slack.webhook_url, **FAST
    ) as proc:
        yield proc


@pytest.fixture
def slack_for_worker(shared_worker, module_slack):
    module_slack.requests.clear()
    module_slack.script.clear()
    return module_slack


def test_a_delivery_is_sent_once_by_a_real_worker(slack_for_worker):
    slack = slack_for_worker
    delivery = wait_for_status(slack_delivery(), {DeliveryStatus.SENT})
    threading.Event().wait(1.0)  # any duplicate would arrive now
    assert delivery.attempts == 1
    assert len(slack.requests) == 1 and slack.requests[0].json()["text"] == "hello it:slack"


def test_a_provider_500_then_200_is_sent_after_a_retry(slack_for_worker):
    slack = slack_for_worker
    slack.answer(Reply(500, "server_error"))
    delivery = wait_for_status(slack_delivery(), {DeliveryStatus.SENT})
    assert delivery.attempts == 2
    assert [r.answered for r in slack.requests] == [500, 200]
    assert slack.requests[1].at - slack.requests[0].at >= 0.15, "backoff before the retry"


def test_a_permanent_4xx_fails_without_retries(slack_for_worker):
    slack = slack_for_worker
    slack.answer(Reply(404, "channel_not_found"))
    delivery = wait_for_status(slack_delivery(), {DeliveryStatus.FAILED})
    threading.Event().wait(1.0)
    assert delivery.attempts == 1 and "channel_not_found" in delivery.last_error
    assert len(slack.requests) == 1
