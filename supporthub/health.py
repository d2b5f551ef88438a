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
