"""Health endpoint: is the database reachable, is the broker reachable."""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema

from supporthub.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_CHECK_TIMEOUT_SECONDS = 1


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("health: database unreachable")
        return "down"
    return "ok"


def broker_status() -> str:
    """`ok`, `down`, or `disabled` when tasks run eagerly in-process."""
    if celery_app.conf.task_always_eager:
        return "disabled"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_CHECK_TIMEOUT_SECONDS)
    except Exception:
        logger.warning("health: broker unreachable")
        return "down"
    return "ok"


@extend_schema(exclude=True)
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database answers (a broker outage only degrades background work)."""
    database = database_status()
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "app": settings.APP_NAME,
        "version": settings.APP_VERSION,
        "database": database,
        "broker": broker_status(),
    }
    return JsonResponse(body, status=200 if database == "ok" else 503)


# --- liveness and readiness probes -------------------------------------------

_migrations_applied = False


def migrations_status() -> str:
    """`ok` when every migration on disk is applied, `pending` otherwise (`down`: no database).

    Once all are applied the answer is remembered: migrations do not un-apply under a
    running process, and reading the migration files on every probe is wasteful.
    """
    global _migrations_applied
    if _migrations_applied:
        return "ok"
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        logger.exception("health: cannot read the migration state")
        return "down"
    if plan:
        return "pending"
    _migrations_applied = True
    return "ok"


@extend_schema(exclude=True)
@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers HTTP. Touches nothing else, so a database outage does not
    make the orchestrator restart healthy web processes."""
    return JsonResponse({"status": "ok", "version": settings.APP_VERSION})


@extend_schema(exclude=True)
@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database answers, migrations are applied and (unless
    READINESS_CHECK_BROKER is off) the broker is reachable; 503 naming what is not ready."""
    checks = {"database": database_status()}
    checks["migrations"] = migrations_status() if checks["database"] == "ok" else "unknown"
    broker = broker_status()
    checks["broker"] = broker
    required_ok = checks["database"] == "ok" and checks["migrations"] == "ok"
    if settings.READINESS_CHECK_BROKER:
        required_ok = required_ok and broker in ("ok", "disabled")
    body = {"status": "ok" if required_ok else "unavailable", "version": settings.APP_VERSION, **checks}
    return JsonResponse(body, status=200 if required_ok else 503)
