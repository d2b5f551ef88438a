"""Soak run (not a test, not in CI): steady mixed traffic for minutes, a worker restart halfway.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 10] [--kill] [--json PATH]

Real processes, only on 127.0.0.1:
- PostgreSQL database --database (dropped and created, then migrated);
- a throwaway redis-server on a free port (broker, result backend and cache; the machine's
  shared Redis is not touched);
- gunicorn as in production (supporthub.wsgi, 2 gthread workers x 4 threads, access log,
  --no-control-socket), one Celery worker (prefork, concurrency 2; acks_late, prefetch 1
  etc. from settings) and Celery beat (the outbox sweep), sharing a Prometheus
  multiprocess directory as in the production image;
- an aiosmtpd SMTP server and a fake Slack incoming webhook that keep what they receive.

Every intake creates a team email (SUPPORT_TEAM_EMAIL), a Slack message and an
acknowledgement email; every agent reply an email; every inbound call (no one on call,
no forward number: a missed call) a team email and a Slack message. Traffic is open loop
at --rate requests/s (intake 20%, reply 20%, ticket list 25%, ticket detail 25%, signed
Twilio voice webhook 10%). Halfway the worker is restarted: SIGTERM to its main process
and a new worker (a deploy), or with --kill SIGKILL to its whole process group (a crash),
at a moment when a delivery is being sent (so the kill interrupts a send).

RSS (VmRSS of a process and its descendants) is sampled every --sample-seconds. At the end
the outbox is given --drain-seconds to empty, then each Delivery row is matched with what
the fake providers received (email by its Message-ID header, or recipient and subject when
it has none; Slack by its text): a row never received and not failed/skipped is lost, one
received twice is duplicated. Exit status 1 if anything was lost or duplicated, or a
request got a 5xx or no answer. Results in docs/benchmarks.md ("Soak").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soak_report import log_counts, memory_summary, pct, per_minute, process_tree_rss, render  # noqa: E402
from bench.voice_webhook import (  # noqa: E402
    ACCOUNT_SID,
    PUBLIC_BASE_URL,
    TOKEN,
    UNTHROTTLED,
    caller_pool,
    reset_database,
    signed_requests,
)
from bench.voice_webhook import PATH as VOICE_PATH  # noqa: E402
from tests.notifications.conftest import SmtpRecorder  # noqa: E402
from tests.notifications.fakes import FakeSlack, Received, Reply  # noqa: E402
from tests.notifications.processes import throwaway_redis  # noqa: E402
from tests.services import free_port, process, wait_for_port  # noqa: E402

SECRET = "bench-only-secret-key-0123456789abcdefghijklmnop"
TEAM = "team@soak.example.com"
MIX = {"intake": 0.20, "reply": 0.20, "list": 0.25, "detail": 0.25, "voice": 0.10}
FINAL_OK = ("failed", "skipped")  # final states in which "never received" is not a loss
MB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second, all kinds")
    parser.add_argument(
        "--kill", action="store_true", help="SIGKILL the worker halfway, mid-send (default: SIGTERM)"
    )
    parser.add_argument("--database", default="supporthub_bench_soak")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        help="how long the outbox may take to empty after the traffic (default 120; 420 with "
        "--kill: a send cut off by the kill is redone only when its 300 s lease has expired)",
    )
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument(
        "--slack-interval",
        type=float,
        default=0.2,
        help="SLACK_MIN_INTERVAL_SECONDS; production's 1.0 is below the ~3 Slack messages/s "
        "this traffic makes, so its backlog would only grow",
    )
    parser.add_argument("--clients", type=int, default=16, help="client threads (open loop)")
    parser.add_argument(
        "--provider-delay-ms",
        type=float,
        default=0.0,
        help="the fake SMTP server and Slack webhook take the message, then wait this long before "
        "answering: a window in which a killed worker has sent but not recorded a message",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.drain_seconds is None:
        args.drain_seconds = 420.0 if args.kill else 120.0

    # Ctrl-C, SIGTERM and SIGHUP all unwind through the `finally` blocks that stop processes.
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: `&` may ignore it
        signal.signal(signum, interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    print(f"work directory (logs): {workdir}", file=sys.stderr)
    try:
        results = Soak(args, workdir).run()
    except KeyboardInterrupt as exc:
        print(f"interrupted ({exc}); every process was stopped; logs in {workdir}", file=sys.stderr)
        return 130
    print(render(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    if results["verdict"]["ok"] and not args.keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if results["verdict"]["ok"] else 1


class Soak:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.dsn = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
        self.rng = random.Random(8)  # tickets to reply to or read, under self.lock
        self.mix = random.Random(9)  # the kind of each request, in the driving thread
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent: Counter[str] = Counter()
        self.status: dict[str, Counter[int | str]] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.timeline: list[tuple[float, float, bool]] = []  # (start s, seconds, answered 2xx)
        self.lag_max = 0.0
        self.tickets: list[int] = []  # email/chat tickets from intake: replies go to these
        self.samples: list[dict[str, Any]] = []
        self.events: dict[str, Any] = {}
        self.worker: subprocess.Popen[bytes] | None = None
        self.n = 0
        self.callers: list[str] = []

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        args = self.args
        load_before = _uptime()
        calls = int(args.minutes * 60 * args.rate * MIX["voice"] * 1.5) + 50
        self.callers = caller_pool(calls)  # one number per call: each call is a new ticket
        delay = args.provider_delay_ms / 1000
        smtp = SlowSmtp(delay)
        with contextlib.ExitStack() as stack:
            broker = stack.enter_context(throwaway_redis(self.workdir / "redis"))
            controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
            controller.start()
            stack.callback(controller.stop)
            slack = SlowSlack(delay)
            stack.enter_context(slack.running())
            self.env = self._env(broker.url, controller.port, slack.webhook_url)
            reset_database(self.dsn)
            self._manage("migrate", "--noinput", "-v0")
            self.key = self._manage("create_api_key", "soak").strip()
            port = free_port()
            self.base = f"http://127.0.0.1:{port}"
            gunicorn = [
                sys.executable, "-m", "gunicorn", "supporthub.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--no-control-socket",
                "--access-logfile", str(self.workdir / "access.log"), "--forwarded-allow-ips", "127.0.0.1",
            ]  # fmt: skip
            web = stack.enter_context(process(gunicorn, self.env, self.workdir / "gunicorn.log"))
            beat_args = [*_celery("beat"), "--schedule", str(self.workdir / "celerybeat-schedule")]
            beat = stack.enter_context(process(beat_args, self.env, self.workdir / "beat.log"))
            workers = stack.enter_context(contextlib.ExitStack())
            self.workers = workers
            self._start_worker(1)
            stack.callback(self._halt)  # runs first on the way out: no new worker after it
            wait_for_port(port)
            sampler = threading.Thread(
                target=self._sample_loop, args=(web.pid, beat.pid, broker.url), daemon=True
            )
            self.t0 = time.monotonic()
            sampler.start()
            self._drive()
            self._sample(web.pid, beat.pid, broker.url)
            drained = self._drain()
            self.stop.set()
            sampler.join(timeout=30)
            delivery = self._match(smtp, slack)
            redis_end = _redis_state(broker.url)
        load_after = _uptime()
        return self._report(delivery, drained, redis_end, load_before, load_after)

    def _env(self, redis_url: str, smtp_port: int, slack_url: str) -> dict[str, str]:
        prometheus = self.workdir / "prometheus"
        prometheus.mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": self.dsn,
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET,
            "DEBUG": "false",
            "ENV_FILE": "/dev/null",
            "PYTHONPATH": str(ROOT),
            "PROMETHEUS_MULTIPROC_DIR": str(prometheus),
            "SUPPORT_TEAM_EMAIL": TEAM,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_USE_TLS": "false",
            "SLACK_WEBHOOK_URL": slack_url,
            "SLACK_MIN_INTERVAL_SECONDS": str(self.args.slack_interval),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "RATELIMIT_ENABLE": "true",
            **UNTHROTTLED,
        }
        # No one to ring (every call is a missed call that notifies) and no SMS: email and Slack only.
        for name in (
            "SUPPORT_FORWARD_NUMBER",
            "TWILIO_FROM_NUMBER",
            "SENTRY_DSN",
            "EMAIL_BACKEND",
            "API_KEY",
        ):
            env.pop(name, None)
        return env

    def _manage(self, *command: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT, env=self.env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    def _start_worker(self, number: int) -> float:
        """Start worker `number` (as the Procfile does) and return the seconds until it is ready."""
        log = self.workdir / f"worker-{number}.log"
        args = [*_celery("worker"), "--concurrency", "2", "--pool", "prefork"]
        with self.lock:
            if self.stop.is_set():
                raise KeyboardInterrupt("stopping")
            started = time.monotonic()
            self.worker = self.workers.enter_context(process(args, self.env, log))
        deadline = started + 60
        while time.monotonic() < deadline and self.worker.poll() is None:
            if log.exists() and " ready." in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
        return round(time.monotonic() - started, 2)

    def _halt(self) -> None:
        with self.lock:  # waits for a worker being started to be on the stack, to stop it too
            self.stop.set()

    def _restart_worker(self) -> None:
        worker = self.worker
        assert worker is not None
        began = time.monotonic()
        self.events["restart_at_s"] = round(began - self.t0, 1)
        if self.args.kill:
            self.events["killed_while_sending"] = self._moment_of_sending()
            os.killpg(worker.pid, signal.SIGKILL)  # the whole container: main process and pool children
            worker.wait()
        else:
            os.kill(worker.pid, signal.SIGTERM)  # what `docker stop` sends: a warm shutdown
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.events["graceful_shutdown_timed_out"] = True
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        self.events["old_worker_stopped_after_s"] = round(time.monotonic() - began, 2)
        self.events["old_worker_exit_code"] = worker.returncode
        self.events["new_worker_ready_after_s"] = self._start_worker(2)
        self.events["restart_gap_s"] = round(time.monotonic() - began, 2)

    def _moment_of_sending(self, timeout: float = 10.0) -> list[int]:
        """Wait (up to `timeout`) until some delivery is being sent; return their ids.

        A kill that lands between a claim and the recorded result is the case that tests
        the outbox: the row must be redone (not lost) and, if the provider had it, sent twice
        at most once more (at-least-once). A kill at a random instant often misses it.
        """
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                rows = conn.execute(
                    "SELECT id FROM notifications_delivery WHERE status = 'sending'"
                ).fetchall()
                if rows:
                    return [row[0] for row in rows]
                time.sleep(0.002)
        return []

    def _drive(self) -> None:
        """Open loop: request i is due at t0 + i/rate whatever happened to the earlier ones."""
        args = self.args
        total = int(args.minutes * 60 * args.rate)
        half = args.minutes * 30
        restart = threading.Thread(target=self._restart_at, args=(half,), daemon=True)
        restart.start()
        kinds, weights = zip(*MIX.items(), strict=True)
        local = threading.local()
        with ThreadPoolExecutor(max_workers=args.clients, thread_name_prefix="client") as pool:
            try:
                for i in range(total):
                    due = self.t0 + i / args.rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    kind = self.mix.choices(kinds, weights)[0]
                    pool.submit(self._request, local, kind, due)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        self.events["traffic_end_s"] = round(time.monotonic() - self.t0, 1)
        restart.join(timeout=120)

    def _restart_at(self, seconds: float) -> None:
        time.sleep(max(0.0, self.t0 + seconds - time.monotonic()))
        if not self.stop.is_set():
            with contextlib.suppress(KeyboardInterrupt):
                self._restart_worker()

    # -- one request -----------------------------------------------------------------------
    def _request(self, local: threading.local, kind: str, due: float) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["X-API-Key"] = self.key
        with self.lock:
            self.n += 1
            n = self.n
            ticket = self.rng.choice(self.tickets) if self.tickets else None
            caller = self.callers.pop() if kind == "voice" and self.callers else None
        if kind in ("reply", "detail") and ticket is None:
            kind = "intake"  # nothing to reply to or read yet
        if kind == "voice" and caller is None:
            kind = "list"  # out of fresh caller numbers
        start = time.monotonic()
        with self.lock:
            self.lag_max = max(self.lag_max, start - due)
            self.sent[kind] += 1
        try:
            response = self._send(local.session, kind, n, ticket, caller)
            outcome: int | str = response.status_code
        except requests.RequestException as exc:
            response, outcome = None, type(exc).__name__
        elapsed = time.monotonic() - start
        with self.lock:
            self.status[kind][outcome] += 1
            self.latency[kind].append(elapsed)
            ok = isinstance(outcome, int) and 200 <= outcome < 300
            self.timeline.append((start - self.t0, elapsed, ok))
            if kind == "intake" and response is not None and response.status_code == 201:
                self.tickets.append(response.json()["ticket"]["id"])

    def _send(
        self, session: requests.Session, kind: str, n: int, ticket: int | None, caller: str | None
    ) -> requests.Response:
        url = self.base
        if kind == "intake":
            channel = "email" if n % 2 else "chat"
            body = {
                "channel": channel,
                "name": f"Soak Customer {n}",
                "email": f"customer{n}@soak.example.com",
                "subject": f"Soak request {n}: the printer is on fire",
                "message": f"Request {n}. It started this morning and nothing helps.",
                "priority": ("low", "normal", "high")[n % 3],
            }
            return session.post(f"{url}/v1/support/request", json=body, timeout=30)
        if kind == "reply":
            reply: dict[str, Any] = {
                "ticket": ticket,
                "direction": "outbound",
                "body": f"Reply {n}: we are on it.",
            }
            return session.post(f"{url}/v1/messages", json=reply, timeout=30)
        if kind == "list":
            return session.get(f"{url}/v1/tickets?page_size=50", timeout=30)
        if kind == "detail":
            return session.get(f"{url}/v1/tickets/{ticket}", timeout=30)
        assert caller is not None
        form, signature = signed_requests(1, [caller])[0]
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        # Twilio opens a new connection per webhook; no API key.
        return requests.post(f"{url}{VOICE_PATH}", data=form, headers=headers, timeout=30)

    # -- memory ----------------------------------------------------------------------------
    def _sample_loop(self, web: int, beat: int, redis_url: str) -> None:
        while not self.stop.wait(self.args.sample_seconds if self.samples else 0):
            self._sample(web, beat, redis_url)

    def _sample(self, web: int, beat: int, redis_url: str) -> None:
        worker = self.worker.pid if self.worker is not None else 0
        sample: dict[str, Any] = {"t": round(time.monotonic() - self.t0, 1)}
        for name, pid in (("web", web), ("worker", worker), ("beat", beat)):
            by_pid = {p: round(size / MB, 1) for p, size in process_tree_rss(pid).items()}
            sample[f"{name}_mb"] = round(sum(by_pid.values()), 1)
            sample[f"{name}_processes"] = len(by_pid)
            sample[f"{name}_by_pid"] = by_pid  # the first is the main process
        sample["worker_pid"] = worker
        with contextlib.suppress(Exception):  # a sample is best effort; the run goes on
            sample["redis_used_mb"] = round(_redis_state(redis_url)["used_memory"] / MB, 2)
            with psycopg.connect(self.dsn) as conn:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()),"
                    " count(*) FILTER (WHERE status = 'pending' AND next_attempt_at > now()),"
                    " count(*) FILTER (WHERE status = 'sending') FROM notifications_delivery"
                ).fetchone()
                assert row is not None
                sample["outbox_due"], sample["outbox_deferred"], sample["outbox_sending"] = row
                sample["outbox_backlog"] = sum(row)
        with self.lock:
            self.samples.append(sample)

    # -- the outbox at the end -------------------------------------------------------------
    def _drain(self) -> dict[str, Any]:
        start = time.monotonic()
        deadline = start + self.args.drain_seconds
        while True:
            with psycopg.connect(self.dsn) as conn:
                left = conn.execute(
                    "SELECT count(*) FROM notifications_delivery WHERE status IN ('pending', 'sending')"
                ).fetchone()[0]  # type: ignore[index]
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        time.sleep(3)  # a send recorded as sent may still be on its way to the fake provider
        return {"seconds": round(time.monotonic() - start, 1), "left_unsent": left}

    def _match(self, smtp: SmtpRecorder, slack: FakeSlack) -> dict[str, Any]:
        received: Counter[tuple[str, ...]] = Counter()
        email_keys: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        with smtp.lock:
            envelopes = list(smtp.envelopes)
        for envelope in envelopes:
            message = message_from_bytes(envelope.content, policy=email_policy.default)
            mid = str(message.get("Message-ID") or "").strip()
            subject = str(message.get("Subject") or "").strip()
            for rcpt in envelope.rcpt_tos:
                keys = (("mid", mid), ("subject", rcpt.lower(), subject))
                email_keys.append(keys)
                received.update(keys)
        # Slack posts what it has read, whether or not the client stays for the answer.
        slack_texts = [("slack", r.json().get("text", "")) for r in list(slack.requests)]
        received.update(slack_texts)

        with psycopg.connect(self.dsn) as conn:
            latency = {
                channel: {"p50_ms": p50, "p99_ms": p99, "max_ms": top}
                for channel, p50, p99, top in conn.execute(
                    "SELECT channel, round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY d)),"
                    " round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY d)), round(1000 * max(d))"
                    " FROM (SELECT channel, extract(epoch FROM sent_at - created_at)::float AS d"
                    " FROM notifications_delivery WHERE sent_at IS NOT NULL) AS sent GROUP BY channel"
                ).fetchall()
            }
            last_errors: dict[str, int] = dict(
                conn.execute(
                    "SELECT left(last_error, 60), count(*) FROM notifications_delivery"
                    " WHERE last_error <> '' GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
                ).fetchall()
            )
            retried = conn.execute(
                "SELECT count(*) FROM notifications_delivery WHERE attempts > 1"
            ).fetchone()
            rows = conn.execute(
                "SELECT id, channel, recipient, subject, body, payload->'headers'->>'Message-ID', status "
                "FROM notifications_delivery ORDER BY id"
            ).fetchall()
            tables = {
                name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
                for name in ("tickets_ticket", "tickets_message", "telephony_calllog", "escalation_incident")
            }
        by_status: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        lost: list[dict[str, Any]] = []
        duplicated: list[dict[str, Any]] = []
        expected: set[tuple[str, ...]] = set()
        for pk, channel, recipient, subject, body, mid, status in rows:
            by_status[status] += 1
            by_channel[channel] += 1
            if channel == "email":
                key: tuple[str, ...] = (
                    ("mid", mid) if mid else ("subject", recipient.lower(), subject.strip())
                )
            elif channel == "slack":
                key = ("slack", body)
            else:
                key = ("other", str(pk))
            expected.add(key)
            count = received[key]
            if count == 0 and status not in FINAL_OK:
                lost.append({"id": pk, "channel": channel, "status": status})
            elif count > 1:
                in_flight = pk in self.events.get("killed_while_sending", [])
                duplicated.append(
                    {"id": pk, "channel": channel, "received": count, "in_flight_at_kill": in_flight}
                )
        unexpected = sum(1 for keys in email_keys if not (set(keys) & expected))
        unexpected += sum(1 for key in slack_texts if key not in expected)
        return {
            "rows": len(rows),
            "by_status": dict(by_status),
            "by_channel": dict(by_channel),
            "received": {
                "smtp_messages": len(email_keys),
                "slack_messages": len(slack_texts),
                "slack_answered_200": sum(1 for r in list(slack.requests) if r.answered == 200),
            },
            "lost": len(lost),
            "duplicated": len(duplicated),
            "duplicated_in_flight_at_kill": sum(1 for item in duplicated if item["in_flight_at_kill"]),
            "unmatched_received": unexpected,
            "created_to_sent": latency,
            "rows_with_more_than_one_attempt": retried[0] if retried else None,
            "last_errors": last_errors,
            "lost_examples": lost[:20],
            "duplicated_examples": duplicated[:20],
            "tables": tables,
        }

    # -- the report ------------------------------------------------------------------------
    def _report(
        self,
        delivery: dict[str, Any],
        drained: dict[str, Any],
        redis_end: dict[str, Any],
        load_before: str,
        load_after: str,
    ) -> dict[str, Any]:
        traffic_end = self.events["traffic_end_s"]
        during = [s for s in self.samples if s["t"] <= traffic_end + 1]
        restart = self.events.get("restart_at_s", traffic_end)
        ready = restart + self.events.get("restart_gap_s", 0)  # the new worker's first samples are its boot
        rss_mb = {
            "web": memory_summary(during, "web_mb"),
            "worker_1": memory_summary([s for s in during if s["t"] < restart], "worker_mb"),
            "worker_2": memory_summary([s for s in during if s["t"] > ready], "worker_mb"),
            "beat": memory_summary(during, "beat_mb"),
        }
        http: dict[str, Any] = {}
        for kind in MIX:
            times = sorted(self.latency.get(kind, []))
            codes = self.status.get(kind, Counter())
            http[kind] = {
                "sent": self.sent.get(kind, 0),
                "status": {str(k): v for k, v in sorted(codes.items(), key=str)},
                "non_2xx": sum(v for k, v in codes.items() if not (isinstance(k, int) and 200 <= k < 300)),
                "5xx": sum(v for k, v in codes.items() if isinstance(k, int) and k >= 500),
                "no_answer": sum(v for k, v in codes.items() if isinstance(k, str)),
                "p50_ms": pct(times, 50),
                "p99_ms": pct(times, 99),
                "max_ms": round(times[-1] * 1000, 1) if times else None,
            }
        errors_5xx = sum(h["5xx"] for h in http.values())
        no_answer = sum(h["no_answer"] for h in http.values())
        prometheus = self.workdir / "prometheus"
        logs = {
            path.name: log_counts(path)
            for path in sorted(self.workdir.glob("*.log"))
            if path.name != "access.log"
        }
        ok = delivery["lost"] == 0 and delivery["duplicated"] == 0 and errors_5xx == 0 and no_answer == 0
        return {
            "command": " ".join(["bench/soak.py", *sys.argv[1:]]),
            "settings": {
                "minutes": self.args.minutes,
                "rate_per_s": self.args.rate,
                "restart": "SIGKILL (group)" if self.args.kill else "SIGTERM (main process)",
                "mix": MIX,
                "slack_min_interval_s": self.args.slack_interval,
                "provider_delay_ms": self.args.provider_delay_ms,
                "drain_limit_s": self.args.drain_seconds,
                "gunicorn": "2 gthread workers x 4 threads",
                "celery": "prefork, concurrency 2, + beat",
            },
            "machine": {"cpus": os.cpu_count(), "uptime_before": load_before, "uptime_after": load_after},
            "events": {**self.events, "max_client_lag_s": round(self.lag_max, 3)},
            "http": http,
            "requests_total": sum(self.sent.values()),
            "achieved_rate_per_s": round(sum(self.sent.values()) / traffic_end, 2) if traffic_end else 0,
            "memory_mb": rss_mb,
            "outbox_backlog_max": max((s.get("outbox_backlog", 0) for s in during), default=0),
            "per_minute": per_minute(self.timeline),
            "drain": drained,
            "deliveries": delivery,
            "redis_end": redis_end,
            "prometheus_dir": {
                "files": len(list(prometheus.glob("*.db"))),
                "mb": round(sum(p.stat().st_size for p in prometheus.glob("*.db")) / MB, 1),
            },
            "log_counts": logs,
            "samples": self.samples,
            "verdict": {
                "ok": ok,
                "lost": delivery["lost"],
                "duplicated": delivery["duplicated"],
                "http_5xx": errors_5xx,
                "no_answer": no_answer,
            },
        }


class SlowSmtp(SmtpRecorder):
    """The loopback SMTP server; with a delay, it keeps the message, then waits to say 250."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.delay:
            await asyncio.sleep(self.delay)
        return answer


class SlowSlack(FakeSlack):
    """The fake Slack webhook; with a delay, it keeps the post, then waits to answer 200."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def default(self, request: Received) -> Reply:
        if self.delay:
            time.sleep(self.delay)
        return Reply()


# -- helpers ---------------------------------------------------------------------------------
def _celery(role: str) -> list[str]:
    # As the Procfile: `celery -A supporthub worker|beat --loglevel info`, nothing else changed.
    return [sys.executable, "-m", "celery", "-A", "supporthub", role, "--loglevel", "info"]


def _redis_state(url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    info = client.info("memory")
    state = {"used_memory": info["used_memory"], "keys": client.dbsize()}
    with contextlib.suppress(redis.RedisError):
        state["unacked"] = client.hlen("unacked")  # kombu: messages a worker holds, not yet acked
        state["queued"] = client.llen("celery")
    return state


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
