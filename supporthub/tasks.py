"""Project-wide Celery tasks and helpers: publishing a task by name, now or once a transaction
commits; the purge of expired idempotency keys.

Services name the task they queue ("notifications.send_deliveries") instead of importing it:
the task modules import the services, so importing a task back would make a cycle. Where
the task is registered in this process (the worker, tests) its own `apply_async` runs, with
its options and eager mode; elsewhere Celery sends the message by name.
"""

import logging
from typing import Any

from celery import current_app, shared_task
from django.db import transaction

from supporthub.idempotency import idempotency_purge

logger = logging.getLogger(__name__)

# Publishing gives up almost at once when the broker is down: the row is already in the
# database and a beat sweep picks it up later, so a request never waits on a dead Redis.
FAST_FAIL_PUBLISH = {"max_retries": 1, "interval_start": 0.05, "interval_step": 0.05, "interval_max": 0.05}


@shared_task(name="supporthub.ping")
def ping() -> str:
    """Round-trip check used by health probes and integration tests."""
    logger.info("ping task ran")  # shows the request id a task inherits (tests/ops)
    return "pong"


@shared_task(name="supporthub.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    """Delete Idempotency-Key records past their 24 hours (beat, hourly)."""
    return idempotency_purge()


def publish(task_name: str, *args: Any, countdown: float | None = None) -> bool:
    """Publish task `task_name` with `args` (to run `countdown` seconds from now); whether
    the broker took it.

    Never raises for an unreachable broker: the caller's database state (an outbox row, a
    due escalation step, a call waiting for its ticket) is what a periodic sweep picks up.
    """
    signature = current_app.signature(task_name, args=args)
    if countdown is not None:
        signature.set(countdown=countdown)
    try:
        # No result is ever read: sent by name, a task would otherwise have the result
        # backend subscribe for it first, and wait out its retries while Redis is down.
        signature.apply_async(retry_policy=FAST_FAIL_PUBLISH, ignore_result=True)
    except Exception:  # kombu raises many types for an unreachable broker
        logger.warning("broker unavailable, %s left for the periodic sweep", task_name)
        return False
    return True


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """`publish(task_name, *args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task_name, *args))
