"""A real worker SIGKILLed while one send task has a round of pages in flight (several at once,
NOTIFICATIONS_SEND_THREADS): every page arrives, none that had been answered is sent again, the
ones in flight are sent again marked "sent, unconfirmed", and the ones not yet claimed are sent
once, plainly."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

import pytest
from django.db import transaction

from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import deliveries_save, delivery_new
from tests.notifications.conftest import TWILIO_SID
from tests.notifications.fakes import FakeTwilio, Reply
from tests.notifications.integration import FAST
from tests.notifications.processes import worker
from tests.services import EVENTUALLY, REQUEST_TIMEOUT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 4
NUMBERS = [f"+1415555{n:04d}" for n in range(200, 210)]  # 10 pages: two rounds of 4, then 2


def _page(number: str) -> Delivery:
    return delivery_new(
        channel="sms",
        recipient=number,
        body=f"page {number}",
        idempotency_key=f"it:round:{number}",
        audience="page",
    )


def _pages() -> list[Delivery]:
    with transaction.atomic():  # one send task for all of them
        return deliveries_save([_page(number) for number in NUMBERS])


def _status_by_number() -> dict[str, tuple[str, int]]:
    return {d.recipient: (d.status, d.attempts) for d in Delivery.objects.filter(recipient__in=NUMBERS)}


def test_a_worker_killed_mid_round_loses_no_page_and_resends_only_those_in_flight(tmp_path, shared_redis):
    hang = threading.Event()
    with FakeTwilio().running() as twilio:
        # The first round is answered; the second is accepted and never answered.
        twilio.answer(*[Reply(201, {"sid": f"SM{n:032d}", "status": "queued"}) for n in range(THREADS)])
        twilio.answer(*[Reply(hang=hang) for _ in range(THREADS)])
        env = {
            **FAST,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": "fake-token",
            "TWILIO_FROM_NUMBER": "+14155550100",
            "TWILIO_API_BASE_URL": twilio.url,
            "NOTIFICATIONS_SEND_THREADS": str(THREADS),
            "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS": "2",
            "NOTIFICATIONS_REQUEUE_AFTER_SECONDS": "1",
            "NOTIFICATIONS_SWEEP_INTERVAL_SECONDS": "1",
        }
        try:
            with worker(tmp_path, broker_url=shared_redis, name="doomed", concurrency=1, **env) as doomed:
                _pages()
                twilio.wait_for(2 * THREADS)
                os.killpg(doomed.pid, signal.SIGKILL)
                doomed.wait(timeout=REQUEST_TIMEOUT)
        finally:
            hang.set()
        answered = {r.form()["To"] for r in twilio.requests[:THREADS]}
        in_flight = {r.form()["To"] for r in twilio.requests[THREADS:]}
        unclaimed = set(NUMBERS) - answered - in_flight
        killed = _status_by_number()
        assert {killed[n] for n in answered} == {(DeliveryStatus.SENT, 1)}
        assert {killed[n] for n in in_flight} == {(DeliveryStatus.SENDING, 1)}
        assert {killed[n] for n in unclaimed} == {(DeliveryStatus.PENDING, 0)}, (
            "a round claims only what it sends"
        )

        with worker(tmp_path, broker_url=shared_redis, name="rescuer", beat=True, **env):
            wait_until(
                lambda: all(
                    status in (DeliveryStatus.SENT, DeliveryStatus.UNCONFIRMED)
                    for status, _ in _status_by_number().values()
                ),
                EVENTUALLY,
                "not every page was sent after the worker was killed",
                interval=0.2,
            )
            threading.Event().wait(2.5)  # sweeps after the sends must not send anything again

    after = _status_by_number()
    assert len(unclaimed) == 2 and len(in_flight) == THREADS
    assert {after[n] for n in answered} == {(DeliveryStatus.SENT, 1)}
    # The lost worker may have handed these over: sent again, and flagged as maybe twice.
    assert {after[n] for n in in_flight} == {(DeliveryStatus.UNCONFIRMED, 2)}
    assert {after[n] for n in unclaimed} == {(DeliveryStatus.SENT, 1)}
    requests = Counter(r.form()["To"] for r in twilio.requests)
    assert requests == {n: 2 if n in in_flight else 1 for n in NUMBERS}
    assert Counter(r.form()["To"] for r in twilio.delivered()) == dict.fromkeys(NUMBERS, 1)
