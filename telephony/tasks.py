"""Celery wrappers: booking an inbound call on its ticket, and the sweep behind it."""

from celery import shared_task

from supporthub.tasks import OutboxTask
from telephony import calls


@shared_task(base=OutboxTask, name="telephony.call_ticket_attach", acks_late=True)
def call_ticket_attach(call_id: int) -> bool:
    """Queued by the inbound-call webhook on commit; no retries: the sweep is the retry."""
    return calls.call_ticket_attach(call_id=call_id) is not None


@shared_task(name="telephony.calls_ticket_sweep", acks_late=True)
def calls_ticket_sweep() -> int:
    """Beat, every TELEPHONY_TICKET_SWEEP_SECONDS: book calls whose attach task was lost."""
    return calls.calls_ticket_sweep()
