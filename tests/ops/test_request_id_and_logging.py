"""Request ids in responses, in every log line of the request, and in the tasks it queues."""

import io
import json
import logging
import time
from types import SimpleNamespace

import pytest

from supporthub import celery_signals
from supporthub.logconfig import StructuredFormatter, get_logger, task_context_var
from supporthub.middleware import RequestIdLogFilter, request_id_var
from supporthub.tasks import ping
from tests.ops.conftest import support_request
from tests.services import EVENTUALLY, broker, celery_worker, redis_url


@pytest.fixture
def json_log():
    """Captures root log lines rendered by the project's formatter (JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(StructuredFormatter(fmt="json"))
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.django_db
def test_a_safe_incoming_request_id_is_echoed(client):
    assert client.get("/health/live", HTTP_X_REQUEST_ID="abc-123.def:9")["X-Request-ID"] == "abc-123.def:9"


@pytest.mark.django_db
@pytest.mark.parametrize("unsafe", ["x" * 200, "evil\nInjected: yes", "spaces are bad", ""])
def test_an_unsafe_or_missing_request_id_is_replaced(client, unsafe):
    echoed = client.get("/health/live", HTTP_X_REQUEST_ID=unsafe)["X-Request-ID"]
    assert echoed != unsafe
    assert len(echoed) == 32


@pytest.mark.django_db
def test_every_log_line_of_a_request_carries_its_id(api, json_log):
    response = api.post("/v1/support/request", support_request(), format="json", HTTP_X_REQUEST_ID="req-777")
    assert response.status_code == 201

    lines = [line for line in json_log() if "created from email request" in line["event"]]
    assert lines, json_log()
    assert {line["request_id"] for line in lines} == {"req-777"}
    assert lines[0]["level"] == "info"
    assert lines[0]["logger"] == "tickets.services"
    assert "timestamp" in lines[0]


def test_log_lines_outside_a_request_say_dash(json_log):
    logging.getLogger("tests.ops").warning("background %s", "thing")
    (line,) = [entry for entry in json_log() if entry["event"] == "background thing"]
    assert line["request_id"] == "-"
    assert line["level"] == "warning"


def test_structlog_loggers_print_through_the_same_handler(json_log):
    token = request_id_var.set("rid-structlog")
    try:
        get_logger("tests.ops").info("delivery sent", channel="sms", attempt=2)
    finally:
        request_id_var.reset(token)
    (line,) = [entry for entry in json_log() if entry["event"] == "delivery sent"]
    assert line == line | {"channel": "sms", "attempt": 2, "request_id": "rid-structlog"}


def test_console_format_is_readable_for_development():
    formatter = StructuredFormatter(fmt="console")
    record = logging.LogRecord(
        "tickets.services", logging.INFO, __file__, 1, "ticket %s created", ("SH-1",), None
    )
    text = formatter.format(record)
    assert "ticket SH-1 created" in text
    assert "request_id=-" in text
    assert not text.startswith("{")


def test_exceptions_are_logged_as_one_json_line(json_log):
    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("tests.ops").exception("it failed")
    (line,) = [entry for entry in json_log() if entry["event"] == "it failed"]
    assert "ValueError: bad thing" in line["exception"]


def test_publishing_a_task_during_a_request_adds_the_request_id_header():
    headers: dict[str, str] = {}
    token = request_id_var.set("req-pub")
    try:
        celery_signals._add_request_id_header(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {"request_id": "req-pub"}

    outside: dict[str, str] = {}
    celery_signals._add_request_id_header(headers=outside)
    assert outside == {}


def test_a_task_runs_with_the_request_id_it_was_queued_with_and_restores_afterwards():
    task = SimpleNamespace(name="supporthub.ping", request=SimpleNamespace(request_id="req-task"))
    celery_signals._enter_task_context(task_id="t-1", task=task)
    assert request_id_var.get() == "req-task"
    assert task_context_var.get() == {"task_id": "t-1", "task_name": "supporthub.ping"}
    celery_signals._leave_task_context(task_id="t-1")
    assert request_id_var.get() == "-"
    assert task_context_var.get() is None


def test_an_eager_task_inside_a_request_keeps_the_request_id():
    token = request_id_var.set("req-eager")
    try:
        task = SimpleNamespace(name="x", request=SimpleNamespace(request_id=None, headers=None))
        celery_signals._enter_task_context(task_id="t-2", task=task)
        assert request_id_var.get() == "req-eager"
        celery_signals._leave_task_context(task_id="t-2")
        assert request_id_var.get() == "req-eager"
    finally:
        request_id_var.reset(token)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_celery_task_queued_by_a_request_logs_with_the_request_id(tmp_path):
    with broker(redis_url()), celery_worker(tmp_path, concurrency=1, LOG_FORMAT="json"):
        token = request_id_var.set("req-celery-42")
        try:
            ping.apply_async()
        finally:
            request_id_var.reset(token)
        log = tmp_path / "worker.log"
        deadline = time.monotonic() + EVENTUALLY
        found = None
        while time.monotonic() < deadline and found is None:
            for raw in log.read_text(errors="replace").splitlines():
                if raw.startswith("{") and "ping task ran" in raw:
                    found = json.loads(raw)
            time.sleep(0.2)
    assert found is not None, log.read_text()
    assert found["request_id"] == "req-celery-42"
    assert found["task_name"] == "supporthub.ping"
    assert found["task_id"]


@pytest.mark.django_db
def test_djangos_own_error_log_line_carries_the_request_id_too(client, json_log):
    client.get("/no-such-page", HTTP_X_REQUEST_ID="req-404")
    (line,) = [entry for entry in json_log() if entry["event"] == "Not Found: /no-such-page"]
    assert line["request_id"] == "req-404"
    assert line["path"] == "/no-such-page"
    assert line["status_code"] == 404
