"""/health/live and /health/ready."""

import os
import re
import subprocess

import pytest
from django.db.migrations.executor import MigrationExecutor

from supporthub import health
from supporthub.celery import app as celery_app
from tests.services import ROOT, gunicorn_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_migration_state(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_liveness_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_readiness_reports_database_migrations_and_broker(client, fresh_migration_state):
    response = client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migrations"] == "ok"
    assert body["broker"] in ("ok", "disabled")


def test_readiness_is_503_while_migrations_are_pending(client, fresh_migration_state, monkeypatch):
    # Django's planner is the seam: pretend one migration on disk is not applied yet.
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("tickets.9999_new", False)]
    )
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["migrations"] == "pending"
    assert response.json()["status"] == "unavailable"


def test_readiness_is_503_when_the_broker_is_down(client, settings, monkeypatch):
    monkeypatch.setattr(health, "broker_status", lambda: "down")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"

    settings.READINESS_CHECK_BROKER = False
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"


def test_readiness_treats_eager_tasks_as_a_ready_broker(client):
    original = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        response = client.get("/health/ready")
    finally:
        celery_app.conf.task_always_eager = original
    assert response.status_code == 200
    assert response.json()["broker"] == "disabled"


def test_readiness_is_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "database_status", lambda: "down")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["migrations"] == "unknown"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "10.0.3.7:8000", "[fd00::7]:8000"])
def test_probes_answer_on_the_containers_own_address_under_production_allowed_hosts(client, settings, host):
    settings.ALLOWED_HOSTS = ["support.example.com"]
    assert client.get("/health/live", HTTP_HOST=host).status_code == 200
    assert client.get("/health/ready", HTTP_HOST=host).status_code == 200
    assert client.get("/health", HTTP_HOST=host).status_code == 400  # everything else is checked
    assert client.get("/v1/tickets", HTTP_HOST=host).status_code == 400


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_dockerfile_healthcheck_passes_against_gunicorn_with_production_allowed_hosts(tmp_path):
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = re.search(r"^HEALTHCHECK .*?\\\n\s+CMD (.+)$", dockerfile, re.M).group(1)
    with gunicorn_server(tmp_path, ALLOWED_HOSTS="support.example.com") as base:
        port = base.rsplit(":", 1)[1]
        check = subprocess.run(
            ["sh", "-c", command],
            env={**os.environ, "PORT": port},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert check.returncode == 0, check.stderr
