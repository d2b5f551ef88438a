"""Celery wrappers: booking inbound calls on their tickets, and the sweeps behind it."""

from celery import shared_task

from telephony import calls, outcome, spool


@shared_task(name=calls.BOOKING_TASK, acks_late=True)
def calls_book_pending() -> int:
    """Queued by the inbound-call webhook (one run per burst); no retries: the sweep is the retry."""
    return calls.calls_book_pending()


@shared_task(name="telephony.calls_ticket_sweep", acks_late=True)
def calls_ticket_sweep() -> int:
    """Beat, every TELEPHONY_TICKET_SWEEP_SECONDS: book calls whose booking run was lost."""
    return calls.calls_ticket_sweep()


@shared_task(name="telephony.calls_outcome_sweep", acks_late=True)
def calls_outcome_sweep() -> int:
    """Beat, every TELEPHONY_OUTCOME_GRACE_SECONDS: decide calls whose last Dial never reported."""
    return outcome.calls_outcome_sweep()


@shared_task(name="telephony.calls_spool_drain", acks_late=True)
def calls_spool_drain() -> int:
    """Beat, every TELEPHONY_TICKET_SWEEP_SECONDS: replay call callbacks spooled in a database outage."""
    return spool.spool_drain()
