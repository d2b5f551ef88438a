"""Notification pipeline benchmark (not a test): deliveries/s and intake→Slack latency.

End to end through real processes: deliveries are created by the outbox service in this
process, each burst (--batch) written together by `deliveries_save` in one transaction, as a
new ticket's notifications are (one send task per burst, queued on commit); a real Celery worker
(prefork, concurrency 2) on a throwaway Redis sends them, and a loopback provider accepts
them: the aiosmtpd SMTP server, or a fake Slack webhook with no rate limit. The latency
run posts support requests to gunicorn and times each until its Slack message arrives.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/notif_bench \
        .venv/bin/python bench/deliveries.py --count 2000 --latency-samples 20

Needs PostgreSQL (the database is created/migrated if missing) and redis-server on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000, help="deliveries per throughput run")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--batch", type=int, default=25, help="deliveries created per transaction (a burst)")
    parser.add_argument("--latency-samples", type=int, default=20, help="0 skips the latency run")
    parser.add_argument("--prefetch", type=int, default=0, help="worker --prefetch-multiplier (0: settings)")
    parser.add_argument("--channels", default="email,slack", help="throughput runs to do")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for the benchmark (it is migrated and emptied).")
    workdir = Path(tempfile.mkdtemp(prefix="bench-deliveries-"))
    from tests.notifications.processes import ThrowawayRedis

    redis_server = ThrowawayRedis(workdir / "redis")
    redis_server.start()
    os.environ.update(
        REDIS_URL=redis_server.url,
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"),
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="supporthub.settings",
        LOG_LEVEL="WARNING",
    )
    try:
        results = run(args, workdir, redis_server.url)
    finally:
        redis_server.stop()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def run(args: argparse.Namespace, workdir: Path, redis_url: str) -> dict:
    _ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from aiosmtpd.controller import Controller

    from tests.notifications.conftest import SmtpRecorder
    from tests.notifications.fakes import FakeSlack
    from tests.services import free_port

    smtp = SmtpRecorder()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "worker": {
            "pool": "prefork",
            "concurrency": args.concurrency,
            "prefetch_multiplier": args.prefetch or 1,
        },
    }
    try:
        with FakeSlack().running() as slack:
            env = {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(controller.port),
                "SMTP_USE_TLS": "false",
                "SLACK_WEBHOOK_URL": slack.webhook_url,
                "SLACK_MIN_INTERVAL_SECONDS": "0",
                "SUPPORT_TEAM_EMAIL": "",
                "LOG_LEVEL": "WARNING",
            }
            with _worker(workdir, redis_url, args.concurrency, env, args.prefetch):
                _warm_up(slack)
                if "email" in args.channels:
                    smtp_count = lambda: len(smtp.messages)  # noqa: E731
                    results["email_smtp"] = throughput("email", args.count, args.batch, smtp_count)
                if "slack" in args.channels:
                    results["slack_no_limit"] = throughput(
                        "slack", args.count, args.batch, lambda: len(slack.requests)
                    )
            slack.requests.clear()
            latency_env = {**env, "SLACK_MIN_INTERVAL_SECONDS": "1"}  # production pacing
            if args.latency_samples:
                with _worker(workdir, redis_url, args.concurrency, latency_env, args.prefetch):
                    results["intake_to_slack"] = latency(workdir, slack, args.latency_samples, latency_env)
    finally:
        controller.stop()
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def _ensure_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            conn.execute(f'create database "{name}"')


class _worker:
    def __init__(
        self, workdir: Path, redis_url: str, concurrency: int, env: dict[str, str], prefetch: int = 0
    ) -> None:
        self.args = [
            sys.executable, "-m", "celery", "-A", "supporthub", "worker", "--loglevel", "warning",
            "--concurrency", str(concurrency), "--pool", "prefork", "-n", f"bench{time.time_ns()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if prefetch:
            self.args += ["--prefetch-multiplier", str(prefetch)]
        self.env = {**os.environ, **env, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
        self.log = (workdir / "worker.log").open("ab")

    def __enter__(self) -> subprocess.Popen[bytes]:
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )
        time.sleep(4)  # worker boot
        return self.proc

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _warm_up(slack: object) -> None:
    throughput("slack", 20, 1, lambda: len(slack.requests), quiet=True)  # type: ignore[attr-defined]


def throughput(channel: str, count: int, batch: int, accepted: object, quiet: bool = False) -> dict:
    """Create `count` deliveries (`batch` written together per transaction) and time them
    until all are accepted."""
    from django.db import transaction

    from notifications.models import Delivery, DeliveryStatus
    from notifications.outbox import deliveries_save, delivery_new

    Delivery.objects.all().delete()
    before = accepted()  # type: ignore[operator]
    recipient = "bench@example.com" if channel == "email" else "#bench"
    run_id = time.time_ns()
    first_accepted: list[float] = []

    def watch() -> None:
        while accepted() == before:  # type: ignore[operator]
            time.sleep(0.001)
        first_accepted.append(time.perf_counter())

    threading.Thread(target=watch, daemon=True).start()
    start = time.perf_counter()
    for first in range(0, count, batch):
        with transaction.atomic():
            deliveries_save(
                [
                    delivery_new(
                        channel=channel,
                        recipient=recipient,
                        subject=f"Bench {n}",
                        body=f"Benchmark delivery {n}",
                        idempotency_key=f"bench:{run_id}:{channel}:{n}",
                    )
                    for n in range(first, min(first + batch, count))
                ]
            )
    created = time.perf_counter() - start
    deadline = time.monotonic() + 600
    while accepted() - before < count and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)
    end = time.perf_counter()
    time.sleep(0.5)  # let the worker record the last results
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    result = {
        "deliveries": count,
        "batch_per_transaction": batch,
        "accepted_by_provider": accepted() - before,  # type: ignore[operator]
        "marked_sent": sent,
        "create_seconds": round(created, 2),
        "total_seconds": round(end - start, 2),
        "deliveries_per_second": round(count / (end - start), 1),
        "first_accepted_after_ms": round((first_accepted[0] - start) * 1000, 1) if first_accepted else None,
    }
    if not quiet:
        print(channel, result, file=sys.stderr)
    return result


def latency(workdir: Path, slack: object, samples: int, env: dict[str, str]) -> dict:
    import requests

    from bench.servers import PROJECT_APP, Gunicorn, web_server
    from tests.factories import make_api_key

    key = make_api_key("bench")
    timings: list[float] = []
    server_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    with web_server(PROJECT_APP, server_env, Gunicorn(workers=2), workdir / "gunicorn.log") as server:
        for n in range(samples + 1):
            subject = f"Latency probe {time.time_ns()}"
            start = time.time()
            answer = requests.post(
                f"{server.url}/v1/support/request",
                json={"channel": "chat", "name": "Bench", "subject": subject, "message": "ping"},
                headers={"X-API-Key": key},
                timeout=10,
            )
            answer.raise_for_status()
            reference = answer.json()["ticket"]["reference"]
            arrived = _wait_for_slack(slack, reference)
            if n > 0:  # the first request warms up gunicorn
                timings.append(arrived - start)
            time.sleep(1.1)  # Slack pacing is 1/s: one request per second keeps it realistic
    ordered = sorted(timings)
    return {
        "samples": len(timings),
        "slack_min_interval_seconds": 1,
        "median_ms": round(statistics.median(timings) * 1000, 1),
        "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 1),
        "max_ms": round(max(timings) * 1000, 1),
    }


def _wait_for_slack(slack: object, reference: str) -> float:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for request in list(slack.requests):  # type: ignore[attr-defined]
            if reference in request.body.decode():
                return float(request.at)
        time.sleep(0.002)
    raise TimeoutError(f"no Slack message for {reference}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
