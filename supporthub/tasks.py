"""Project-wide Celery helpers."""

import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction

logger = logging.getLogger(__name__)

# Publishing gives up almost at once when the broker is down: the row is already in the
# database and a beat sweep picks it up later, so a request never waits on a dead Redis.
FAST_FAIL_PUBLISH = {"max_retries": 1, "interval_start": 0.05, "interval_step": 0.05, "interval_max": 0.05}


class OutboxTask(Task):
    """A task whose database row is the truth (an outbox): publishing it fails fast."""

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:  # type: ignore[override]
        options.setdefault("retry_policy", FAST_FAIL_PUBLISH)
        return super().apply_async(args, kwargs, **options)


@shared_task(name="supporthub.ping")
def ping() -> str:
    """Round-trip check used by health probes and integration tests."""
    logger.info("ping task ran")  # shows the request id a task inherits (tests/ops)
    return "pong"


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Queue `task` once the current transaction commits.

    A broker outage must not fail the request that caused the work: the error is logged
    and the state in the database (an outbox row, a due escalation step) is picked up
    again by a periodic task.
    """

    def _send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:  # kombu raises many types for an unreachable broker
            logger.warning("broker unavailable, %s left for the periodic sweep", task.name)

    transaction.on_commit(_send)
