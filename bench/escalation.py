"""Escalation benchmarks on PostgreSQL (numbers go to docs/benchmarks.md, "Escalation").

1. Engine tick over 10,000 open incidents: how long one `escalation_tick()` takes when
   10,000 incidents are open and D of them are due (D = 0, 100, 1000).
2. Time to page: from an urgent ticket's creation (committed) until its first page has been
   handed to the notifications outbox by a real Celery worker (on-commit kick, no beat).

Usage (a throwaway database; it is migrated and filled):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/escal_bench REDIS_URL=redis://127.0.0.1:6379/13 \
    SECRET_KEY=bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz \
    .venv/bin/python bench/escalation.py [--incidents 10000] [--pages 30]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")

import django  # noqa: E402

django.setup()

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
from tests.factories import UserFactory  # noqa: E402
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


def _delivery_model():  # type: ignore[no-untyped-def]
    try:
        from notifications.models import Delivery  # type: ignore[attr-defined]
    except ImportError:
        return None
    return Delivery


def _first_page_sent(ticket) -> bool:  # type: ignore[no-untyped-def]
    """With the notifications outbox: a page Delivery was sent; without: a page was handed over."""
    pages = IncidentPage.objects.filter(incident__ticket=ticket, status="sent")
    delivery = _delivery_model()
    if delivery is None:
        return pages.exists()
    ids = [i for i in pages.values_list("delivery_id", flat=True) if i]
    return bool(ids) and delivery.objects.filter(pk__in=ids, status="sent").exists()


def bench_time_to_page(samples: int) -> list[str]:
    if not os.environ.get("REDIS_URL"):
        return ["| time to page | skipped: REDIS_URL not set |"]
    log = open(ROOT / "var" / "bench-worker.log", "wb")  # noqa: SIM115 - closed below
    env = dict(os.environ)
    smtp = None
    if _delivery_model() is not None:
        # A real SMTP server on loopback, so the email page is really sent (console email is "skipped").
        port = 2525 + os.getpid() % 1000
        smtp = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_USE_TLS="false", EMAIL_BACKEND="")
        env.pop("EMAIL_BACKEND")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "supporthub", "worker", "--concurrency", "2",
         "--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        latencies = []
        contact = ticket_services.contact_resolve(name="Bench caller", email="caller@bench.example")
        # Warm-up (not counted): wait until the worker has started and sent one page.
        warm = ticket_services.ticket_create(
            contact=contact, subject="bench warm-up", channel="email", priority=TicketPriority.URGENT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _first_page_sent(warm):
            time.sleep(0.1)
        Incident.objects.filter(ticket=warm).update(status="resolved", next_step_at=None)
        for n in range(samples):
            start = time.perf_counter()
            ticket = ticket_services.ticket_create(
                contact=contact, subject=f"bench {n}", channel="email", priority=TicketPriority.URGENT
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if _first_page_sent(ticket):
                    latencies.append(time.perf_counter() - start)
                    break
                time.sleep(0.005)
            Incident.objects.filter(ticket=ticket).update(status="resolved", next_step_at=None)
        if not latencies:
            return [
                f"| time to page | no page sent within 10 s in {samples} samples (see var/bench-worker.log) |"
            ]
        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        what = "first page Delivery sent" if _delivery_model() else "first page handed to the outbox"
        line = (
            f"| time to {what} ({len(latencies)}/{samples} samples) | "
            f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms,"
            f" max {latencies[-1] * 1000:.0f} ms |"
        )
        print(line, flush=True)
        return [line]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
        log.close()
        if smtp is not None:
            smtp.terminate()
            smtp.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=30, help="time-to-page samples (0 to skip)")
    parser.add_argument("--skip-tick", action="store_true", help="only measure time to page")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the worker (finally) on SIGTERM too
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (DATABASE_URL=postgresql://...).")
    policy = setup()
    lines = [] if args.skip_tick else bench_tick(policy, args.incidents)
    if args.pages:
        lines += bench_time_to_page(args.pages)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
