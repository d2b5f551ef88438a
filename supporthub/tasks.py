"""Project-wide Celery helpers."""

import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


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
