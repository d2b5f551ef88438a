"""Helpers for tests that need real services: PostgreSQL, Redis, worker and server processes.

With SUPPORTHUB_REQUIRE_SERVICES=1 (as in CI) a missing service fails the test instead of
skipping it, so a green CI run means the integration tests really ran.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

# Deadlines for real processes, sized for a 2-core machine shared with other test runs at a
# load average of 5 or more, where importing the project alone can take many seconds.
STARTUP_TIMEOUT = 60.0  # a server or worker process becomes ready
REQUEST_TIMEOUT = 30.0  # one HTTP request to a real server
EVENTUALLY = 60.0  # work a real worker does in the background shows up
# The shared cache (Redis) unreachable: nothing listens on port 1.
UNREACHABLE_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
}


def require_service(name: str, reason: str) -> None:
    """Skip, or in CI fail, because `name` is not available."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("SUPPORTHUB_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (SUPPORTHUB_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        require_service("Redis", "REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        require_service("Redis", str(exc))
    return url


@contextmanager
def cache_unreachable(settings: Any) -> Iterator[None]:
    """The shared cache stops answering (a Redis cache where nothing listens, on port 1, also
    when the tests run without Redis), then comes back. `settings` is pytest-django's fixture;
    for a whole test, see conftest's `cache_down`."""
    reachable = settings.CACHES
    settings.CACHES = {"default": UNREACHABLE_CACHE}
    try:
        yield
    finally:
        settings.CACHES = reachable


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        require_service("PostgreSQL", "DATABASE_URL does not point at PostgreSQL")


def database_url() -> str:
    """A URL for the database the tests are using right now (the test database)."""
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgresql://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a server or worker process that must share the tests' database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="false",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("RATELIMIT_ENABLE", "false")  # as in-process tests; pass "true" to test limits
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def wait_until(predicate, timeout: float, message: str, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{message} (after {timeout}s)")


def log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def wait_for_start(ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Wait up to STARTUP_TIMEOUT for `ready()`; fail at once, with its log, if the child exits."""

    def started() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting:\n{log_tail(log)}")
        return ready()

    try:
        wait_until(started, STARTUP_TIMEOUT, f"{what} did not start", interval=0.2)
    except TimeoutError as error:
        raise TimeoutError(f"{error}:\n{log_tail(log)}") from None


def answers_http(url: str) -> bool:
    """True once a server answers `url` with any HTTP status."""
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a child process for the duration of a test; its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@contextmanager
def celery_worker(tmp_path: Path, *, concurrency: int = 2, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on the real Redis, sharing the test database."""
    url = redis_url()
    args = [
        sys.executable, "-m", "celery", "-A", "supporthub", "worker",
        "--loglevel", "info", "--concurrency", str(concurrency), "--pool", "prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log = tmp_path / "worker.log"
    with process(args, child_env(REDIS_URL=url, **env), log) as proc:
        wait_for_worker(proc, log)
        yield proc


def wait_for_worker(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the Celery worker has connected to its broker and consumes tasks."""
    wait_for_start(lambda: " ready." in log.read_text(errors="replace"), proc, log, "the Celery worker")


@contextmanager
def gunicorn_server(tmp_path: Path, *, threads: int = 1, **env: str) -> Iterator[str]:
    """gunicorn serving the app on a free loopback port; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # --timeout: a worker that boots slowly on a loaded machine is not killed and restarted.
    args = [
        sys.executable, "-m", "gunicorn", "supporthub.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--timeout", str(int(2 * STARTUP_TIMEOUT)), "--no-control-socket",
        "--threads", str(threads), "--access-logfile", "-",
    ]  # fmt: skip
    log = tmp_path / "gunicorn.log"
    with process(args, child_env(**env), log) as proc:
        # The port listens as soon as the master binds it; a worker answers only once warm.
        wait_for_start(lambda: answers_http(f"{base}/health/live"), proc, log, "gunicorn")
        yield base


@contextmanager
def broker(url: str, result_backend: str | None = None) -> Iterator[None]:
    """Point this process's Celery app at another broker, with fresh connection pools."""
    from supporthub.celery import app

    def reset_pools() -> None:
        from kombu import pools

        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        # kombu caches producer pools per URL; once a test has
        # published (intake now queues deliveries), the cached one holds the closed pool.
        pools.reset()

    saved = (app.conf.broker_url, app.conf.result_backend)
    app.conf.broker_url = url
    if result_backend is not None:
        app.conf.result_backend = result_backend
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.result_backend = saved
        reset_pools()
