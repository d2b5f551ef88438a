"""Real processes for the notifications integration tests: a throwaway Redis and workers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.services import (
    child_env,
    free_port,
    process,
    require_service,
    wait_for_start,
    wait_for_worker,
)


class ThrowawayRedis:
    """Our own redis-server on a free loopback port, which a test may stop and start.

    The machine's shared Redis is never touched.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            require_service("redis-server", "the binary is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.workdir)]  # fmt: skip
        log = self.workdir / "redis.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        wait_for_start(self._answers, self.proc, log, "the throwaway redis-server")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def throwaway_redis(workdir: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def worker(
    tmp_path: Path,
    *,
    broker_url: str,
    concurrency: int = 2,
    beat: bool = False,
    name: str = "worker",
    **env: str,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (optionally with embedded beat) on `broker_url`."""
    args = [
        sys.executable, "-m", "celery", "-A", "supporthub", "worker", "--loglevel", "info",
        "--concurrency", str(concurrency), "--pool", "prefork", "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    if beat:
        args += ["--beat", "--schedule", str(tmp_path / f"{name}-beat-schedule")]
    log = tmp_path / f"{name}.log"
    with process(args, child_env(REDIS_URL=broker_url, **env), log) as proc:
        wait_for_worker(proc, log)
        yield proc
