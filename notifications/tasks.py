"""Celery wrappers over the outbox. The database row, not the task, is the truth."""

from celery import Task, shared_task

from notifications import outbox
from supporthub.tasks import FAST_FAIL_PUBLISH


@shared_task(bind=True, name=outbox.SEND_TASK, acks_late=True, max_retries=None)
def send_delivery(self: Task, delivery_id: int) -> str:
    """Send one Delivery. Retries are bounded by Delivery.max_attempts, not by Celery."""
    outcome = outbox.delivery_send(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        # If this publish fails the row stays pending and the beat sweep re-queues it.
        raise self.retry(countdown=outcome.retry_in, max_retries=None, retry_policy=FAST_FAIL_PUBLISH)
    return outcome.status


@shared_task(name="notifications.requeue_stale_deliveries", acks_late=True)
def requeue_stale_deliveries() -> int:
    """Beat task: re-queue deliveries whose task was lost (broker outage, killed worker)."""
    return outbox.deliveries_requeue_stale()
