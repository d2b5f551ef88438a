"""Real processes against real services: a Celery worker on Redis, gunicorn over HTTP."""

import json
import urllib.error
import urllib.request

import pytest

from tests.factories import make_api_key
from tests.services import EVENTUALLY, REQUEST_TIMEOUT, broker, celery_worker, gunicorn_server, redis_url
from tickets.models import Ticket

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_task_round_trips_through_a_real_worker_on_redis(tmp_path):
    from supporthub.tasks import ping

    url = redis_url()
    with broker(url, result_backend=url), celery_worker(tmp_path):
        result = ping.apply_async(ignore_result=False)
        assert result.get(timeout=EVENTUALLY) == "pong"


def test_gunicorn_serves_health_and_intake_over_http(tmp_path):
    key = make_api_key()
    with gunicorn_server(tmp_path) as base:
        status, health = http("GET", f"{base}/health")
        assert status == 200 and health["database"] == "ok"
        status, created = http(
            "POST",
            f"{base}/v1/support/request",
            {"channel": "chat", "name": "Eve", "subject": "Over HTTP", "message": "hello"},
            {"X-API-Key": key},
        )
        assert status == 201, created
        status, error = http("GET", f"{base}/v1/tickets", headers={"X-API-Key": "wrong"})
        assert status == 401 and error["code"] == "authentication_failed"
    assert Ticket.objects.get(pk=created["ticket"]["id"]).subject == "Over HTTP"


def test_an_unreachable_database_gives_clear_503s_and_the_server_keeps_serving(tmp_path):
    """Invariant: with PostgreSQL gone, health and the API say so in JSON; nothing crashes."""
    with gunicorn_server(tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere") as base:
        for _ in range(3):  # repeated: the workers stay up instead of crash-looping
            status, body = http("GET", f"{base}/health")
            assert status == 503
            assert body["status"] == "degraded" and body["database"] == "down"
            status, body = http("GET", f"{base}/v1/tickets", headers={"X-API-Key": "some-key"})
            assert status == 503
            assert body["code"] == "service_unavailable"
