"""Celery wrappers: booking inbound calls on their tickets, the sweeps behind it, MMS media."""

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from notifications.outbox import retry_delay
from telephony import calls, media, outcome, spool


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
    """Beat, every TELEPHONY_TICKET_SWEEP_SECONDS: replay Twilio callbacks spooled in a database outage."""
    return spool.spool_drain()


@shared_task(bind=True, name=media.MMS_FETCH_TASK, acks_late=True, max_retries=None)
def mms_media_fetch(self: Task, message_id: int, message_sid: str, media_urls: list[str]) -> int:
    """Queued by the SMS webhook: store the MMS's media; retried with backoff up to
    ATTACHMENT_FETCH_MAX_ATTEMPTS tries (files already stored are not fetched again)."""
    try:
        return media.mms_media_store(message_id=message_id, message_sid=message_sid, media_urls=media_urls)
    except media.MediaFetchError as exc:
        attempt = self.request.retries + 1
        if attempt >= settings.ATTACHMENT_FETCH_MAX_ATTEMPTS:
            media.mms_fetch_abandon(message_id=message_id, error=exc)
            raise
        raise self.retry(exc=exc, countdown=retry_delay(attempt)) from exc


@shared_task(name="telephony.mms_fetch_sweep", acks_late=True)
def mms_fetch_sweep() -> int:
    """Beat, every ATTACHMENT_FETCH_SWEEP_SECONDS: queue again MMS media fetches whose task was lost."""
    return media.mms_fetch_sweep()
