"""A new web worker imports every view and connects before its first request, and keeps
what it loaded out of the garbage collector's full collections."""

import subprocess
import sys

import pytest
import requests

from tests.services import (
    REQUEST_TIMEOUT,
    ROOT,
    STARTUP_TIMEOUT,
    child_env,
    gunicorn_server,
    redis_url,
    require_postgres,
    wait_until,
)

PROBE = """
import gc, sys, django
django.setup()
from django.db import connection
assert "tickets.views" not in sys.modules and connection.connection is None
assert "django_redis.cache" not in sys.modules
from supporthub.warmup import warm
warm()
print("tickets.views" in sys.modules, "telephony.webhooks" in sys.modules, connection.connection is not None,
      "django_redis.cache" in sys.modules, gc.get_freeze_count() > 50_000, len(gc.get_objects(2)) < 5_000)
"""


def test_warm_imports_the_views_and_the_cache_client_opens_the_database_connection_and_freezes():
    redis_url()
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 6


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_gunicorn_warms_each_worker_before_it_accepts(tmp_path):
    require_postgres()
    log = tmp_path / "gunicorn.log"
    with gunicorn_server(tmp_path) as base_url:
        assert requests.get(f"{base_url}/health/live", timeout=REQUEST_TIMEOUT).status_code == 200
        wait_until(lambda: log.read_text().count("warmed in") >= 2, STARTUP_TIMEOUT, "a worker never warmed")
    assert log.read_text().count("warmed in") == 2  # both workers of gunicorn_server


CELERY_PROBE = """
import gc, django
django.setup()
from celery import signals
import supporthub.celery  # the app, with its signal handlers
assert gc.get_freeze_count() == 0
signals.worker_process_init.send(sender=None)
print(gc.get_freeze_count() > 50_000)
"""


def test_each_celery_worker_process_freezes_its_start_up_objects():
    result = subprocess.run(
        [sys.executable, "-c", CELERY_PROBE],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]
