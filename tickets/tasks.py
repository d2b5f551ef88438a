"""Celery wrappers over the ticket services."""

from celery import shared_task

from tickets import sla


@shared_task(name="tickets.sla_sweep", ignore_result=True)
def sla_sweep() -> int:
    """Beat, every SLA_SWEEP_SECONDS: mark the SLA clocks that ran out (tickets.sla)."""
    return sla.sla_breach_sweep()
