"""The processes a benchmark runs: SupportHub's gunicorn, the bare app's, a Celery worker.

Both web servers get the same gunicorn command line (by default the Procfile's: 3 sync
workers, `--no-control-socket`). SupportHub's reads the repository's gunicorn.conf.py as in
production (its hook warms each worker); the bare app names its own, empty one. Each
process runs in a session of its own and is stopped with its children when its `with`
block ends, also on Ctrl-C or on a SIGTERM once `exit_on_sigterm` has run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import free_port, process, wait_for_port  # noqa: E402

PROJECT_APP = "supporthub.wsgi"
BARE_APP = "bench.bare.wsgi"


@dataclass(frozen=True)
class Gunicorn:
    """The gunicorn settings every web server of one run shares."""

    workers: int = 3
    worker_class: str = "sync"
    threads: int = 1

    def __str__(self) -> str:
        return f"gunicorn {self.workers} x {self.worker_class} ({self.threads} thread), --no-control-socket"


def commit() -> str:
    """The commit the code under test is at, "+dirty" when the tree has changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True
    )
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def exit_on_sigterm() -> None:
    """Leave through the `finally` blocks that stop the processes on SIGTERM (`timeout`, CI)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # also its process group: the master and its workers


@contextmanager
def web_server(app: str, env: dict[str, str], gunicorn: Gunicorn, log: Path) -> Iterator[Server]:
    """gunicorn serving `app` (PROJECT_APP or BARE_APP) on a free loopback port."""
    port = free_port()
    args = [
        sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
        "--workers", str(gunicorn.workers), "--worker-class", gunicorn.worker_class,
        "--threads", str(gunicorn.threads), "--no-control-socket", "--log-level", "warning",
    ]  # fmt: skip
    if app == BARE_APP:
        args += ["--config", "bench/bare/gunicorn.conf.py"]
        env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
    with process(args, env, log) as proc:
        wait_for_port(port, timeout=60)
        url = f"http://127.0.0.1:{port}"
        _wait_for_answer(url + ("/" if app == BARE_APP else "/health/live"))
        yield Server(url, proc.pid)


def _wait_for_answer(url: str, timeout: float = 60) -> None:
    """Until `url` answers 200: the master listens before its workers have booted."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@contextmanager
def celery_worker(env: dict[str, str], log: Path, timeout: float = 60) -> Iterator[int]:
    """The Procfile's Celery worker (prefork, concurrency 2, log level info), once it is ready."""
    env = {**env, "LOG_LEVEL": "INFO"}  # as the Procfile's worker; its "ready." line is info
    args = [sys.executable, "-m", "celery", "-A", "supporthub", "worker", "--loglevel", "info",
            "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    with process(args, env, log) as proc:
        deadline = time.monotonic() + timeout
        while b" ready." not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Celery worker did not start; see {log}")
            time.sleep(0.2)
        yield proc.pid  # also its process group


class CpuMeter:
    """CPU time used by process groups (a server, a worker) and by the PostgreSQL backends
    connected to one database (Linux /proc). A backend that connects meanwhile counts whole;
    one that disconnects meanwhile is missed."""

    def __init__(self, groups: dict[str, int], database_url: str) -> None:
        self.groups, self.database_url = groups, database_url

    def snapshot(self) -> dict[tuple[str, int], float]:
        """CPU seconds so far by (group name or "postgres", pid)."""
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            backends = {row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )}  # fmt: skip
        names = {pgid: name for name, pgid in self.groups.items()}
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[tuple[str, int], float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, group = int(stat.parent.name), int(fields[2])
            name = names.get(group) or ("postgres" if pid in backends else None)
            if name:
                used[name, pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return used

    def since(self, before: dict[tuple[str, int], float]) -> dict[str, float]:
        """CPU seconds used since `before` (a snapshot), by group name and "postgres"."""
        used = dict.fromkeys([*self.groups, "postgres"], 0.0)
        for (name, pid), seconds in self.snapshot().items():
            used[name] += seconds - before.get((name, pid), 0.0)
        return used

    def wait_idle(self, name: str, timeout: float = 120) -> None:
        """Until `name` uses under 5% of a CPU over a second: a server left working through
        a backlog after an overload would slow down whatever is measured next."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.snapshot()
            time.sleep(1)
            if self.since(before)[name] < 0.05:
                return
