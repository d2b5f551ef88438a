"""Escalation benchmarks on PostgreSQL (numbers go to docs/benchmarks.md, "Escalation").

1. Engine tick over 10,000 open incidents: how long one `escalation_tick()` takes when
   10,000 incidents are open and D of them are due (D = 0, 100, 1000).
2. Time to page: from an urgent ticket's creation (committed) until its first page has been
   sent by a real Celery worker (on-commit kick, no beat), on a warm worker and right after
   every broker connection to Redis was dropped.
3. Mass outage: 1,000 incidents due in the same second (one beat tick), each paging one
   person by SMS: the time until the fake Twilio API has accepted every first page.

Usage (a throwaway database; it is migrated and filled):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/escal_bench REDIS_URL=redis://127.0.0.1:6379/13 \
    SECRET_KEY=bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz \
    .venv/bin/python bench/escalation.py [--incidents 10000] [--pages 30] [--outage 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")

import django  # noqa: E402

django.setup()

from celery import current_app  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from escalation import engine, services  # noqa: E402
from escalation.models import (  # noqa: E402
    ContactMethod,
    EscalationPolicy,
    Incident,
    IncidentEvent,
    IncidentPage,
    LayerParticipant,
    RotationLayer,
    Schedule,
)
from notifications.models import Delivery  # noqa: E402
from supporthub.tasks import publish  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.notifications.fakes import FakeTwilio, Received, Reply  # noqa: E402
from tickets import services as ticket_services  # noqa: E402
from tickets.models import TicketPriority  # noqa: E402


def setup() -> EscalationPolicy:
    call_command("migrate", verbosity=0)
    Incident.objects.all().delete()
    schedule = Schedule.objects.get(name="Support")
    user = UserFactory(username="bench-oncall")
    ContactMethod.objects.get_or_create(user=user, kind="sms", address="+14155550101")
    # Email goes out through the console backend, so a page is really "sent" with no vendor.
    ContactMethod.objects.get_or_create(user=user, kind="email", address="oncall@bench.example")
    layer, _ = RotationLayer.objects.get_or_create(
        schedule=schedule,
        level=1,
        defaults={"shift_unit": "weeks", "handoff_time": "09:00", "start_date": date(2026, 1, 1)},
    )
    LayerParticipant.objects.get_or_create(layer=layer, user=user, position=0)
    return EscalationPolicy.objects.get(name="Default")


def bench_tick(policy: EscalationPolicy, count: int) -> list[str]:
    snapshot = services.policy_snapshot(policy)
    now = timezone.now()
    Incident.objects.all().delete()
    Incident.objects.bulk_create(
        (
            Incident(
                title=f"bench {i}",
                policy=policy,
                policy_snapshot=snapshot,
                next_step_at=now + timedelta(hours=1),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    ids = list(Incident.objects.values_list("pk", flat=True))
    lines = []
    for due in (0, 100, 1000):
        timings = []
        for _ in range(3):
            IncidentPage.objects.all().delete()
            IncidentEvent.objects.all().delete()
            Incident.objects.update(next_step_at=timezone.now() + timedelta(hours=1), current_step=0)
            Incident.objects.filter(pk__in=ids[:due]).update(
                next_step_at=timezone.now() - timedelta(seconds=1)
            )
            start = time.perf_counter()
            result = engine.escalation_tick()
            timings.append(time.perf_counter() - start)
            assert result.steps == due, result
        lines.append(
            f"| tick, {count:,} open, {due:,} due | median {statistics.median(timings) * 1000:.0f} ms "
            f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}; 3 runs) |"
        )
        print(lines[-1], flush=True)
    Incident.objects.all().delete()
    return lines


class SlowTwilio(FakeTwilio):
    """The fake Twilio API, answering every request `latency` seconds after it arrives."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def default(self, request: Received) -> Reply:
        return dataclasses.replace(super().default(request), delay=self.latency)


@contextmanager
def running_worker(latency: float = 0.0) -> Iterator[FakeTwilio]:
    """A real Celery worker (2 processes) sending through an aiosmtpd server and a fake
    Twilio REST API on 127.0.0.1 (returned, with the SMS it accepted) that answers each
    request after `latency` seconds, as the real one does after a round trip."""
    log = open(ROOT / "var" / "bench-worker.log", "wb")  # noqa: SIM115 - closed below
    port = 2525 + os.getpid() % 1000
    smtp = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with SlowTwilio(latency).running() as twilio:
        env = {key: value for key, value in os.environ.items() if key != "EMAIL_BACKEND"}
        env.update(
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_USE_TLS="false",
            TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="bench-token",
            TWILIO_FROM_NUMBER="+14155550100", TWILIO_API_BASE_URL=twilio.url,
        )  # fmt: skip
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "supporthub", "worker", "--concurrency", "2",
             "--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield twilio
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
            log.close()
            smtp.terminate()
            smtp.wait(timeout=10)


def _first_page_sent(ticket) -> bool:  # type: ignore[no-untyped-def]
    ids = IncidentPage.objects.filter(incident__ticket=ticket, status="sent").values_list(
        "delivery_id", flat=True
    )
    return Delivery.objects.filter(pk__in=[i for i in ids if i], status="sent").exists()


def _wait(condition, timeout: float) -> float | None:  # type: ignore[no-untyped-def]
    """Seconds until `condition()` held (polled every 5 ms), or None after `timeout`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if condition():
            return time.perf_counter() - start
        time.sleep(0.005)
    return None


def _drop_broker_connections() -> int:
    """Close every Redis connection to the bench's database but ours: the worker's consumer
    and publishers (and this process's publisher) find their connection gone."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    me, db = client.client_id(), client.connection_pool.connection_kwargs.get("db", 0)
    killed = 0
    for info in client.client_list():
        if int(info["db"]) == db and int(info["id"]) != me:
            killed += int(client.client_kill_filter(_id=info["id"]) or 0)
    return killed


def _percentiles(name: str, latencies: list[float], samples: int) -> str:
    if not latencies:
        return f"| {name} | no page sent within 10 s in {samples} samples (see var/bench-worker.log) |"
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    return (
        f"| {name} ({len(latencies)}/{samples} samples) | median {statistics.median(latencies) * 1000:.0f} ms,"
        f" p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms |"
    )


def bench_time_to_page(samples: int) -> list[str]:
    """An urgent ticket's commit until its first page is sent, on a warm worker and right
    after every broker connection was dropped."""
    contact = ticket_services.contact_resolve(name="Bench caller", email="caller@bench.example")

    def sample(subject: str) -> float | None:
        ticket = ticket_services.ticket_create(
            contact=contact, subject=subject, channel="email", priority=TicketPriority.URGENT
        )
        took = _wait(lambda: _first_page_sent(ticket), 10)
        Incident.objects.filter(ticket=ticket).update(status="resolved", next_step_at=None)
        return took

    lines = []
    warm = sample("bench warm-up")  # not counted: the worker is starting
    if warm is None:
        sample("bench warm-up")
    for name, drop in (
        ("time to first page Delivery sent", False),
        ("same, broker connections just dropped", True),
    ):
        latencies = []
        for n in range(samples):
            if drop:
                _drop_broker_connections()
            took = sample(f"bench {n}")
            if took is not None:
                latencies.append(took)
            if drop:
                time.sleep(0.5)  # let the worker settle before the next drop
        lines.append(_percentiles(name, latencies, samples))
        print(lines[-1], flush=True)
    return lines


def bench_mass_outage(count: int, latency: float = 0.0) -> list[str]:
    """`count` incidents due in the same second, each paging one person by SMS: the time
    until every first page has been handed to (accepted by) the fake Twilio API."""
    user = UserFactory(username="bench-mass")
    ContactMethod.objects.get_or_create(user=user, kind="sms", address="+14155550102")
    policy, _ = EscalationPolicy.objects.get_or_create(name="Bench mass outage")
    policy.steps.all().delete()
    policy.steps.create(position=1, kind="user", user=user, wait_minutes=30)
    snapshot = services.policy_snapshot(policy)
    Incident.objects.filter(status__in=["triggered", "acknowledged"]).update(
        status="resolved", next_step_at=None
    )
    # No backlog from the tick measurement: its pages' sends wait in the broker for a worker.
    Delivery.objects.filter(status__in=["pending", "sending"]).delete()
    current_app.control.purge()
    with running_worker(latency) as twilio:
        # Warm-up: the worker is up once it has sent a page.
        warm = services.incident_trigger(reason="api", title="bench warm-up", policy=policy)
        _wait(lambda: len(twilio.requests) >= 1, 60)
        Incident.objects.filter(pk=warm.pk).update(status="resolved", next_step_at=None)
        before, since = len(twilio.requests), timezone.now()
        Incident.objects.bulk_create(
            Incident(
                title=f"outage {i}", policy=policy, policy_snapshot=snapshot, next_step_at=timezone.now()
            )
            for i in range(count)
        )
        publish("escalation.tick")  # what beat does every ESCALATION_TICK_SECONDS
        first = _wait(lambda: len(twilio.requests) > before, 60)
        done = _wait(lambda: len(twilio.requests) >= before + count, 300)
        time.sleep(2)  # anything sent twice would arrive now
        accepted = len(twilio.requests) - before
        pending = Delivery.objects.filter(created_at__gte=since, status__in=["pending", "sending"]).count()
    took = (
        "not all within 300 s" if done is None or first is None else f"all in {(first + done) * 1000:,.0f} ms"
    )
    line = (
        f"| mass outage: {count:,} incidents due at once, first pages (SMS) accepted by Twilio"
        f" answering in {latency * 1000:.0f} ms |"
        f" {took} (the first after {(first or 0) * 1000:.0f} ms); {accepted:,} accepted, {pending} pending |"
    )
    print(line, flush=True)
    return [line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=30, help="time-to-page samples (0 to skip)")
    parser.add_argument("--outage", type=int, default=1000, help="incidents due at once (0 to skip)")
    parser.add_argument("--skip-tick", action="store_true", help="skip the engine tick measurement")
    parser.add_argument(
        "--twilio-latency-ms", type=float, default=0.0, help="how long the fake Twilio API takes to answer"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the worker (finally) on SIGTERM too
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (DATABASE_URL=postgresql://...).")
    policy = setup()
    lines = [] if args.skip_tick else bench_tick(policy, args.incidents)
    if args.outage:
        lines += bench_mass_outage(args.outage, args.twilio_latency_ms / 1000)
    if args.pages:
        with running_worker(args.twilio_latency_ms / 1000):
            lines += bench_time_to_page(args.pages)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
