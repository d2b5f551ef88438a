"""Celery wrappers over the ticket services."""

from collections.abc import Sequence

from celery import shared_task
from django.core.management import call_command

from tickets import attachments, sla


@shared_task(name="tickets.sla_sweep", ignore_result=True)
def sla_sweep() -> int:
    """Beat, every SLA_SWEEP_SECONDS: mark the SLA clocks that ran out (tickets.sla)."""
    return sla.sla_breach_sweep()


@shared_task(name="tickets.attachments_purge", ignore_result=True)
def attachments_purge() -> None:
    """Beat, daily: the purge_attachments command (ATTACHMENT_RETENTION_DAYS)."""
    call_command("purge_attachments")


@shared_task(name=attachments.FORGET_UNSAVED_TASK, ignore_result=True, acks_late=True)
def attachments_forget_unsaved(names: Sequence[str]) -> int:
    """Queued when files are written: deletes those whose transaction never committed."""
    return attachments.attachments_forget_unsaved(names=names)
