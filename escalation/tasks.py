"""Celery wrappers: the engine tick (beat), the on-commit kick, the daily health check, the
reachability check before shifts."""

from __future__ import annotations

from celery import shared_task

from escalation import engine, health, reachability, services


@shared_task(name="escalation.tick", ignore_result=True)
def escalation_tick() -> int:
    """Beat, every ESCALATION_TICK_SECONDS: run all due steps and delayed pages."""
    return engine.escalation_tick().steps


@shared_task(name=services.ADVANCE_TASK, ignore_result=True)
def incident_advance(incident_id: int) -> bool:
    """Kick queued on commit when an incident opens, so the first page needs no beat."""
    return engine.incident_advance(incident_id=incident_id)


@shared_task(name="escalation.schedule_health", ignore_result=True)
def schedule_health_report() -> int:
    return health.schedule_health_report()


@shared_task(name="escalation.reachability_check", ignore_result=True)
def reachability_check() -> int:
    """Beat, every 15 minutes: warn people whose shift starts soon and who may not be reachable."""
    return reachability.reachability_check()
