"""Celery wrappers over the outbox services. The database row, not the task, is the truth."""

from celery import shared_task

from notifications import services
from supporthub.tasks import OutboxTask


@shared_task(base=OutboxTask, name="notifications.send_deliveries", acks_late=True)
def send_deliveries(delivery_ids: list[int]) -> list[str]:
    """Send Deliveries in turn; returns their statuses. A delivery that must wait (a
    transient error, the channel's pacing) is queued again on its own, after its countdown;
    retries are bounded by Delivery.max_attempts."""
    statuses = []
    for delivery_id in delivery_ids:
        outcome = services.delivery_send(delivery_id=delivery_id)
        if outcome.retry_in is not None:
            # If this publish fails the row stays pending and the beat sweep re-queues it.
            services.sends_publish([delivery_id], countdown=outcome.retry_in)
        statuses.append(outcome.status)
    return statuses


@shared_task(name="notifications.requeue_stale_deliveries", acks_late=True)
def requeue_stale_deliveries() -> int:
    """Beat task: re-queue deliveries whose task was lost (broker outage, killed worker)."""
    return services.deliveries_requeue_stale()
