"""Failures with real processes: a worker SIGKILLed mid-send, Redis down during intake."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from notifications.models import Delivery, DeliveryStatus
from tests.factories import make_api_key
from tests.notifications.fakes import Reply
from tests.notifications.integration import FAST, slack_delivery, wait_for_status
from tests.notifications.processes import throwaway_redis, worker
from tests.services import REQUEST_TIMEOUT, gunicorn_server, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_worker_killed_mid_send_does_not_lose_or_duplicate_the_delivery(tmp_path, shared_redis, slack):
    hang = threading.Event()
    slack.answer(Reply(hang=hang))  # the first send never gets an answer
    env = {
        **FAST,
        "SLACK_WEBHOOK_URL": slack.webhook_url,
        "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS": "2",
        "NOTIFICATIONS_REQUEUE_AFTER_SECONDS": "1",
        "NOTIFICATIONS_SWEEP_INTERVAL_SECONDS": "1",
    }
    try:
        with worker(tmp_path, broker_url=shared_redis, name="doomed", concurrency=1, **env) as doomed:
            delivery = slack_delivery("it:killed")
            slack.wait_for(1)
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=REQUEST_TIMEOUT)
    finally:
        hang.set()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING
    with worker(tmp_path, broker_url=shared_redis, name="rescuer", beat=True, **env):
        # The lost worker may have handed it over: sent again, and "sent, unconfirmed".
        delivery = wait_for_status(delivery, {DeliveryStatus.UNCONFIRMED})
        threading.Event().wait(1.5)  # a sweep after the send must not resend
    assert len(slack.delivered()) == 1
    assert delivery.attempts == 2 and delivery.sent_at is not None


def test_intake_during_a_redis_outage_loses_nothing_and_sends_each_delivery_once(
    tmp_path, shared_redis, slack, smtp_server
):
    api_key = make_api_key()
    env = {
        **FAST,
        "SLACK_WEBHOOK_URL": slack.webhook_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_USE_TLS": "false",
        "NOTIFICATIONS_REQUEUE_AFTER_SECONDS": "1",
        "NOTIFICATIONS_SWEEP_INTERVAL_SECONDS": "1",
    }
    with throwaway_redis(tmp_path / "redis") as own_redis:
        env["REDIS_URL"] = own_redis.url
        with gunicorn_server(tmp_path, **env) as base_url:
            own_redis.stop()

            def submit(n: int) -> int:
                body = {
                    "channel": "email",
                    "name": f"Customer {n}",
                    "email": f"c{n}@example.com",
                    "subject": f"Outage request {n}",
                    "message": "Help",
                }
                answer = requests.post(
                    f"{base_url}/v1/support/request",
                    json=body,
                    headers={"X-API-Key": api_key},
                    timeout=REQUEST_TIMEOUT,
                )
                return answer.status_code

            with ThreadPoolExecutor(max_workers=4) as pool:
                statuses = list(pool.map(submit, range(50)))
            assert statuses == [201] * 50
            assert Delivery.objects.count() == 150
            assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 150

            own_redis.start()
            worker_env = {k: v for k, v in env.items() if k != "REDIS_URL"}
            with worker(tmp_path, broker_url=own_redis.url, beat=True, **worker_env):
                wait_until(
                    lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 150,
                    90,
                    "not every delivery was sent after Redis came back",
                    interval=0.5,
                )
                threading.Event().wait(2.5)  # further sweeps must not resend anything

    from tickets.models import Ticket

    assert Ticket.objects.filter(subject__startswith="Outage request").count() == 50
    assert len(smtp_server.messages) == 100
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 100
    texts = [r.json()["text"] for r in slack.requests]
    assert len(texts) == 50 and len(set(texts)) == 50
