"""Celery wrappers over the outbox. The database row, not the task, is the truth."""

from celery import shared_task

from notifications import outbox


@shared_task(name=outbox.SEND_TASK, acks_late=True)
def send_deliveries(delivery_ids: list[int]) -> list[str]:
    """Send the deliveries written together, in turn; returns their statuses."""
    return outbox.deliveries_send(delivery_ids)


@shared_task(name="notifications.requeue_stale_deliveries", acks_late=True)
def requeue_stale_deliveries() -> int:
    """Beat task: re-queue deliveries whose task was lost (broker outage, killed worker)."""
    return outbox.deliveries_requeue_stale()
