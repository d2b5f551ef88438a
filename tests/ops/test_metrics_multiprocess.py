"""Metrics stay correct across gunicorn workers and Celery worker processes (multiprocess mode)."""

import json
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from supporthub.tasks import ping
from tests.factories import make_api_key
from tests.ops.conftest import support_request
from tests.services import EVENTUALLY, REQUEST_TIMEOUT, broker, celery_worker, gunicorn_server, redis_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _post(base: str, key: str, n: int) -> int:
    request = urllib.request.Request(
        f"{base}/v1/support/request",
        data=json.dumps(support_request(subject=f"Printer {n}")).encode(),  # identical ones fold
        headers={"Content-Type": "application/json", "X-API-Key": key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        return response.status


def _sample(base: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=REQUEST_TIMEOUT) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_every_gunicorn_worker_reports_the_totals_of_all_workers(tmp_path):
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    key = make_api_key()
    with gunicorn_server(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base:
        assert [_post(base, key, n) for n in range(6)] == [201] * 6
        # Scrapes land on either worker; each must see all six tickets.
        seen = {
            _sample(base, "supporthub_tickets_created_total", channel="email", priority="normal")
            for _ in range(8)
        }
    assert seen == {6.0}
    assert list(metrics_dir.glob("counter_*.db")), "prometheus_client wrote no multiprocess files"


def test_celery_worker_metrics_show_up_in_the_web_scrape(tmp_path):
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    name, labels = "supporthub_celery_tasks_total", {"task": "supporthub.ping", "state": "success"}
    with (
        broker(redis_url()),
        celery_worker(tmp_path, concurrency=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
        gunicorn_server(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as base,
    ):
        for _ in range(3):
            ping.apply_async()
        deadline = time.monotonic() + EVENTUALLY
        value = 0.0
        while time.monotonic() < deadline and value < 3:
            value = _sample(base, name, **labels)
            time.sleep(0.3)
    assert value == 3.0
