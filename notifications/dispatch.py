"""Queueing sends in bursts: one dispatch run per burst of new deliveries, not one Celery
publish per delivery on the request that created it.

A Celery publish cost ~0.9 ms of a web request: more than any other part of an intake's
notification work (perf, issue 8). So when the transaction that wrote deliveries commits,
their ids are appended to a Redis list and a dispatch run is queued only if none is queued
already (a marker set with SET NX, like telephony's booking run): one Lua script, one
round trip for all the deliveries of that transaction. The run clears the marker first,
then drains the list and queues one send task per id, from the worker. No delivery is
missed: an id pushed before the clear is drained by that run, and one pushed after it
finds no marker and queues the next run.

Whatever is lost on the way (Redis down at commit, a run killed after taking ids, a list
evicted from the cache) is still a pending row, which the beat sweep
(deliveries_requeue_stale) queues again; a duplicate send task is a no-op (the claim).
Without Redis as the cache (`make run`), each delivery's task is published at commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import cache
from redis.commands.core import Script

from supporthub.cache_client import redis_of, script_run

logger = logging.getLogger(__name__)

MARKER_SECONDS = 10
BATCH = 500
# One command: append the ids (ARGV[2], ...), then set the marker for ARGV[1] seconds unless
# it is set; 1 when this set it.
_PUSH_SCRIPT = Script(
    None,  # type: ignore[arg-type]  # the client is given at each call
    b"""
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[1]) then return 1 end
return 0
""",
)


def _keys() -> tuple[str, str]:
    return cache.make_key("notifications:dispatch:ids"), cache.make_key("notifications:dispatch:queued")


def sends_queue(delivery_ids: Sequence[int]) -> None:
    """Queue the sends of committed deliveries `delivery_ids` (called on commit)."""
    from notifications.tasks import send_delivery, sends_dispatch

    if not delivery_ids:
        return
    client = redis_of()
    if client is None:
        for delivery_id in delivery_ids:
            _publish(send_delivery, delivery_id)
        return
    ids_key, marker_key = _keys()
    try:
        first = script_run(client, _PUSH_SCRIPT, [ids_key, marker_key], [MARKER_SECONDS, *delivery_ids])
    except Exception:  # redis.ConnectionError and friends
        logger.warning("cache unavailable; deliveries %s left for the periodic sweep", list(delivery_ids))
        return
    if first and not _publish(sends_dispatch):
        with contextlib.suppress(Exception):
            client.delete(marker_key)  # the next commit tries again


def sends_dispatch_run() -> int:
    """The dispatch run: queue one send task per delivery id waiting; returns how many."""
    from notifications.tasks import send_delivery

    client = redis_of()
    if client is None:
        return 0
    ids_key, marker_key = _keys()
    client.delete(marker_key)  # first: an id pushed from now on queues the next run
    queued = 0
    while ids := client.lpop(ids_key, BATCH):
        for raw in ids:
            if not _publish(send_delivery, int(raw)):
                return queued  # broker down: the sweep queues the rest from their rows
            queued += 1
    return queued


def _publish(task: Any, *args: Any) -> bool:
    try:
        task.apply_async(args=args)
    except Exception:  # kombu raises many types for an unreachable broker
        logger.warning("broker unavailable, %s left for the periodic sweep", task.name)
        return False
    return True
