"""Where the machine's CPU goes per request: gunicorn, PostgreSQL, Redis and wrk, in ms.

    .venv/bin/python bench/cpu_split.py [--seconds 10] [--workers 3] [PATH ...]

The path `intake` posts bench/run.py's support request (POST /v1/support/request).

Uses the database bench/run.py seeds (run it first), starts gunicorn as the Procfile does
(sync workers), runs wrk (2 threads, 16 connections) against each path and divides the CPU
time each group of processes used by the requests served. A ratio to the bare view is
bounded by these sums: an endpoint at 0.5 of the ceiling may cost twice the bare view's
total, whichever process spends it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import UNTHROTTLED, ensure_database, intake_script, manage, server_env  # noqa: E402
from bench.voice_webhook import cpu_seconds  # noqa: E402
from tests.services import free_port, wait_for_port  # noqa: E402

DEFAULT_PATHS = ["/bench/hello", "/v1/tickets?page_size=50", "/v1/tickets/50000"]


def pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--database", default="supporthub_bench_http")
    args = parser.parse_args()

    env = {**server_env(ensure_database(args.database)), **UNTHROTTLED}
    key = manage(env, "create_api_key", "cpu-split").strip()
    port = free_port()
    bind = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "supporthub.wsgi", "--bind", bind, "--workers", str(args.workers),
         "--no-control-socket", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    tmp = tempfile.mkdtemp()
    intake = intake_script(Path(tmp), {"X-API-Key": key})
    try:
        wait_for_port(port)
        print(
            f"{'path':<34} {'req/s':>7} {'gunicorn':>9} {'postgres':>9} {'redis':>6} {'wrk':>6} {'total':>6}  (ms)"
        )
        for path in args.paths:
            if path == "intake":
                wrk = ["wrk", "-t2", "-c16", "-s", str(intake), f"http://{bind}/v1/support/request"]
            else:
                wrk = ["wrk", "-t2", "-c16", "-H", f"X-API-Key: {key}", f"http://{bind}{path}"]
            # warm-up: a new worker's first ~3 s cost ~7 ms of CPU per intake (imports, plans)
            subprocess.run([*wrk[:3], "-d5s", *wrk[3:]], capture_output=True, check=True)
            groups = {"gunicorn": pids(f"gunicorn supporthub.wsgi --bind {bind}"), "postgres": pids("postgres"),
                      "redis": pids("redis-server")}  # fmt: skip
            before = {name: cpu_seconds(members) for name, members in groups.items()}
            started = os.times()
            out = subprocess.run(
                [*wrk[:3], f"-d{args.seconds}s", *wrk[3:]], capture_output=True, text=True
            ).stdout
            ended = os.times()
            served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
            ms = {
                name: (cpu_seconds(members) - before[name]) / served * 1000
                for name, members in groups.items()
            }
            ms["wrk"] = (
                (
                    ended.children_user
                    + ended.children_system
                    - started.children_user
                    - started.children_system
                )
                / served
                * 1000
            )
            print(
                f"{path:<34} {served / args.seconds:>7.0f} {ms['gunicorn']:>9.3f} {ms['postgres']:>9.3f} "
                f"{ms['redis']:>6.3f} {ms['wrk']:>6.3f} {sum(ms.values()):>6.3f}"
            )
            time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
