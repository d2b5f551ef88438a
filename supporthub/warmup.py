"""Work a new web worker does before its first request instead of during it.

A fresh gunicorn worker spent ~0.5 s on its first request, and as much again on its first
API request (importing every view through the URLconf, building the resolver, importing the
cache's Redis client, the first database and cache connections): each restart or
deploy made a request per worker wait that long, and it was the "p99 artifact" of the
benchmarks' first endpoint. gunicorn.conf.py calls `warm` from its
post_worker_init hook, before the worker accepts connections.

Last, everything loaded so far leaves the cyclic garbage collector's reach (gc.freeze):
a worker holds ~150,000 objects after start-up, which every full collection scanned again,
~45 ms about every 700 requests (a latency spike and 2-4% of an intake's or an inbound
call's CPU, with the younger collections that also walked more). They live as long as the
worker anyway. Each Celery worker process freezes them too (supporthub.celery_signals).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time

logger = logging.getLogger(__name__)


def warm() -> float:
    """Import and connect what every request needs; returns the seconds it took."""
    started = time.perf_counter()
    from django.db import connection
    from django.urls import Resolver404, get_resolver

    with contextlib.suppress(Resolver404):
        get_resolver().resolve("/")  # imports every view and populates the resolver
    try:
        connection.ensure_connection()
    except Exception:  # the database may be down: the first request will say so (503)
        logger.warning("warm-up could not reach the database", exc_info=True)
    from django.core.cache import cache

    try:
        cache.get("warm-up")  # imports the cache client and connects it
    except Exception:  # the cache may be down: requests work without it
        logger.warning("warm-up could not reach the shared cache", exc_info=True)
    freeze_startup_objects()
    return time.perf_counter() - started


def freeze_startup_objects() -> None:
    """Keep what start-up loaded out of every later collection (web and Celery workers)."""
    gc.collect()  # what start-up left as garbage goes now, not frozen for good
    gc.freeze()
