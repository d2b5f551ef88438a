"""Celery signal bookkeeping and the gunicorn hook, called as their frameworks call them."""

import importlib.util
import logging
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from supporthub import celery_signals
from tests.ops.conftest import support_request, unique_ip
from tests.services import ROOT


def _count(task: str, state: str) -> float:
    return REGISTRY.get_sample_value("supporthub_celery_tasks_total", {"task": task, "state": state}) or 0.0


def test_finished_tasks_are_counted_by_state():
    task = SimpleNamespace(name="demo.hooks")
    before = [_count("demo.hooks", state) for state in ("success", "failure", "retry")]
    celery_signals._count_success(sender=task)
    celery_signals._count_failure(sender=task)
    celery_signals._count_retry(sender=task)
    celery_signals._count_retry(sender=task)
    after = [_count("demo.hooks", state) for state in ("success", "failure", "retry")]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 2]


def test_workers_use_the_project_logging_configuration():
    root = logging.getLogger()
    celery_signals._use_project_logging()
    formatters = {type(handler.formatter).__name__ for handler in root.handlers}
    assert "StructuredFormatter" in formatters


def test_exiting_processes_are_marked_dead_for_multiprocess_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.child_exit(server=None, worker=SimpleNamespace(pid=4242))

    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db"]  # counters are kept
    monkeypatch.setattr(celery_signals.os, "getpid", lambda: 4343)
    (tmp_path / "gauge_liveall_4343.db").write_bytes(b"")
    celery_signals._mark_metrics_process_dead()
    assert not (tmp_path / "gauge_liveall_4343.db").exists()


@pytest.mark.django_db
def test_staff_sessions_are_limited_per_user(settings, admin_user):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_API_KEY_WRITES = "1/m"
    client = APIClient(REMOTE_ADDR=unique_ip())
    client.force_login(admin_user)
    assert client.post("/v1/support/request", support_request(), format="json").status_code == 201
    assert client.post("/v1/support/request", support_request(), format="json").status_code == 429


@pytest.mark.django_db
def test_the_environment_api_key_has_its_own_budget(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_API_KEY_WRITES = "1/m"
    settings.API_KEY = "env-key-for-ratelimit-test-0123456789"
    client = APIClient(REMOTE_ADDR=unique_ip())
    client.credentials(HTTP_X_API_KEY=settings.API_KEY)
    assert client.post("/v1/support/request", support_request(), format="json").status_code == 201
    assert client.post("/v1/support/request", support_request(), format="json").status_code == 429
