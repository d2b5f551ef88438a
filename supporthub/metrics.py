"""SupportHub's domain metrics: every one is defined here and nowhere else.

Other apps record events through the small functions below (keyword-only, cheap, never
raise into business code). Gauges that describe state (outbox backlog, open incidents) are
not kept in process memory: `DomainStateCollector` reads them from the database at scrape
time, so they are right no matter which process changed the rows.

| metric | type | labels | recorded by |
|---|---|---|---|
| supporthub_tickets_created_total | counter | channel, priority | record_ticket_created |
| supporthub_deliveries_sent_total | counter | channel | record_delivery_sent |
| supporthub_deliveries_failed_total | counter | channel, final | record_delivery_failed |
| supporthub_delivery_latency_seconds | histogram | channel | record_delivery_sent |
| supporthub_incident_time_to_acknowledge_seconds | histogram | - | record_incident_acknowledged |
| supporthub_webhook_signature_failures_total | counter | provider | record_webhook_signature_failure |
| supporthub_sla_breaches_total | counter | kind, priority | record_sla_breach |
| supporthub_celery_tasks_total | counter | task, state | Celery signals (supporthub.celery_signals) |
| supporthub_outbox_backlog | gauge | channel | database, at scrape |
| supporthub_outbox_oldest_pending_age_seconds | gauge | - | database, at scrape |
| supporthub_deliveries_dead_letter | gauge | channel | database, at scrape |
| supporthub_incidents_open | gauge | status | database, at scrape |
| supporthub_tickets_open_sla_breached | gauge | - | database, at scrape |
| supporthub_database_size_bytes | gauge | - | database, at scrape |

With several processes (gunicorn workers, Celery prefork children) prometheus_client runs in
multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set; see docs/observability.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

PRIORITY_LABELS = {1: "low", 2: "normal", 3: "high", 4: "urgent"}

TICKETS_CREATED = Counter(
    "supporthub_tickets_created",
    "Tickets created, by intake channel and priority.",
    ["channel", "priority"],
)
DELIVERIES_SENT = Counter(
    "supporthub_deliveries_sent",
    "Deliveries the provider accepted, by channel.",
    ["channel"],
)
DELIVERIES_FAILED = Counter(
    "supporthub_deliveries_failed",
    "Failed delivery attempts, by channel; final=true when the Delivery is dead-lettered.",
    ["channel", "final"],
)
DELIVERY_LATENCY = Histogram(
    "supporthub_delivery_latency_seconds",
    "Seconds from a Delivery row's creation until the provider accepted it.",
    ["channel"],
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
INCIDENT_TIME_TO_ACKNOWLEDGE = Histogram(
    "supporthub_incident_time_to_acknowledge_seconds",
    "Seconds from an incident being triggered to its acknowledgement.",
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400),
)
WEBHOOK_SIGNATURE_FAILURES = Counter(
    "supporthub_webhook_signature_failures",
    "Inbound webhooks rejected because their signature was missing or wrong, by provider.",
    ["provider"],
)
SLA_BREACHES = Counter(
    "supporthub_sla_breaches",
    "Tickets that breached an SLA target, by kind (first_response|resolution) and priority.",
    ["kind", "priority"],
)
CELERY_TASKS = Counter(
    "supporthub_celery_tasks",
    "Celery tasks finished in a worker, by task name and state (success|failure|retry).",
    ["task", "state"],
)


def _priority_label(priority: int | str) -> str:
    if isinstance(priority, int):
        return PRIORITY_LABELS.get(priority, str(priority))
    return str(priority)


def _safely(fn: Callable[[], object]) -> None:
    """Metrics never break the work they describe."""
    try:
        fn()
    except Exception:
        logger.warning("could not record a metric", exc_info=True)


def record_ticket_created(*, channel: str, priority: int | str) -> None:
    """Count a new ticket once its transaction commits (a rolled-back ticket is not counted)."""
    transaction.on_commit(
        partial(
            _safely, lambda: TICKETS_CREATED.labels(channel=channel, priority=_priority_label(priority)).inc()
        )
    )


def record_delivery_sent(*, channel: str, latency_seconds: float | None = None) -> None:
    """A Delivery was accepted by its provider; `latency_seconds` since the row was created."""
    _safely(lambda: DELIVERIES_SENT.labels(channel=channel).inc())
    if latency_seconds is not None:
        _safely(lambda: DELIVERY_LATENCY.labels(channel=channel).observe(max(latency_seconds, 0.0)))


def record_delivery_failed(*, channel: str, final: bool) -> None:
    """An attempt failed; `final=True` when no retry follows (permanent error or last try)."""
    _safely(lambda: DELIVERIES_FAILED.labels(channel=channel, final="true" if final else "false").inc())


def record_incident_acknowledged(*, seconds: float) -> None:
    """An incident was acknowledged `seconds` after it was triggered."""
    _safely(lambda: INCIDENT_TIME_TO_ACKNOWLEDGE.observe(max(seconds, 0.0)))


def record_webhook_signature_failure(*, provider: str) -> None:
    """A webhook from `provider` (twilio, anymail, ...) had a missing or invalid signature."""
    _safely(lambda: WEBHOOK_SIGNATURE_FAILURES.labels(provider=provider).inc())


def record_sla_breach(*, kind: str, priority: int | str) -> None:
    """A ticket breached its `kind` target ("first_response" or "resolution")."""
    _safely(lambda: SLA_BREACHES.labels(kind=kind, priority=_priority_label(priority)).inc())


def record_celery_task(*, task: str, state: str) -> None:
    _safely(lambda: CELERY_TASKS.labels(task=task, state=state).inc())


# --- State read from the database at scrape time -----------------------------------------

DELIVERY_TABLE = "notifications_delivery"
INCIDENT_TABLE = "escalation_incident"
TICKET_TABLE = "tickets_ticket"
KNOWN_DELIVERY_CHANNELS = ("email", "slack", "sms", "voice")
BACKLOG_STATUSES = ("pending", "sending")
OPEN_INCIDENT_STATUSES = ("triggered", "acknowledged")


def _counts_by(table: str, column: str, statuses: Iterable[str]) -> dict[str, int]:
    status_list = list(statuses)
    placeholders = ", ".join(["%s"] * len(status_list))
    sql = f"SELECT {column}, COUNT(*) FROM {table} WHERE status IN ({placeholders}) GROUP BY {column}"  # noqa: S608 - constant identifiers
    with connection.cursor() as cursor:
        cursor.execute(sql, status_list)
        return {str(key): int(count) for key, count in cursor.fetchall()}


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, str):  # SQLite hands back text for aggregates
        value = parse_datetime(value)
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
    return None


class DomainStateCollector(Collector):
    """Gauges computed from the database on each scrape; tables not yet migrated are skipped."""

    def describe(self) -> Iterator[Metric]:
        # Registering must not query the database (it happens at import time).
        return iter(())

    def collect(self) -> Iterator[Metric]:
        try:
            tables = set(connection.introspection.table_names())
        except Exception as exc:
            logger.warning("metrics: database unreachable, state gauges skipped: %s", exc)
            return
        try:
            yield from self._database_size()
        except Exception as exc:
            logger.warning("metrics: database size unavailable: %s", exc)
        for name, build in (
            (DELIVERY_TABLE, self._deliveries),
            (INCIDENT_TABLE, self._incidents),
            (TICKET_TABLE, self._tickets),
        ):
            if name not in tables:
                continue
            try:
                yield from build()
            except Exception:
                logger.warning("metrics: reading %s failed", name, exc_info=True)

    def _database_size(self) -> Iterator[Metric]:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_database_size(current_database())")
                size = int(cursor.fetchone()[0])
        elif connection.vendor == "sqlite":
            name = str(connection.settings_dict["NAME"])
            size = os.path.getsize(name) if os.path.exists(name) else 0
        else:
            return
        yield GaugeMetricFamily(
            "supporthub_database_size_bytes", "Size of the application database on disk.", value=size
        )

    def _deliveries(self) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "supporthub_outbox_backlog",
            "Deliveries waiting to be sent (pending or sending), by channel.",
            labels=["channel"],
        )
        counts = dict.fromkeys(KNOWN_DELIVERY_CHANNELS, 0) | _counts_by(
            DELIVERY_TABLE, "channel", BACKLOG_STATUSES
        )
        for channel, count in sorted(counts.items()):
            backlog.add_metric([channel], count)
        yield backlog

        dead = GaugeMetricFamily(
            "supporthub_deliveries_dead_letter",
            "Deliveries that failed for good (dead letters awaiting a retry in admin), by channel.",
            labels=["channel"],
        )
        counts = dict.fromkeys(KNOWN_DELIVERY_CHANNELS, 0) | _counts_by(DELIVERY_TABLE, "channel", ["failed"])
        for channel, count in sorted(counts.items()):
            dead.add_metric([channel], count)
        yield dead

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(created_at) FROM {DELIVERY_TABLE} WHERE status = %s", ["pending"])  # noqa: S608
            oldest = _as_datetime(cursor.fetchone()[0])
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "supporthub_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending Delivery (0 when none is pending).",
            value=max(age, 0.0),
        )

    def _incidents(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "supporthub_incidents_open",
            "Incidents not yet resolved, by status (triggered|acknowledged).",
            labels=["status"],
        )
        counts = dict.fromkeys(OPEN_INCIDENT_STATUSES, 0) | _counts_by(
            INCIDENT_TABLE, "status", OPEN_INCIDENT_STATUSES
        )
        for status, count in sorted(counts.items()):
            gauge.add_metric([status], count)
        yield gauge

    def _tickets(self) -> Iterator[Metric]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {TICKET_TABLE} WHERE sla_breached AND status NOT IN (%s, %s)",  # noqa: S608
                ["resolved", "closed"],
            )
            count = int(cursor.fetchone()[0])
        yield GaugeMetricFamily(
            "supporthub_tickets_open_sla_breached",
            "Unresolved tickets that have breached an SLA target.",
            value=count,
        )
