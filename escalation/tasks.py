"""Celery wrappers: the engine tick (beat), the on-commit kick, the daily health check, the
reachability check and handoff notices before shifts, and the Slack app's message redraws
and answers."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from escalation import engine, handoffs, health, reachability, services, slack
from notifications.channels import ChannelError, slack_api

logger = logging.getLogger(__name__)


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


@shared_task(name=slack.REFRESH_TASK, bind=True, ignore_result=True, max_retries=5)
def slack_message_refresh(self: Task, incident_id: int, channel_id: str, ts: str) -> None:
    """Redraw an incident's Slack message after a click; transient Slack errors are retried."""
    try:
        slack.message_refresh(incident_id=incident_id, channel_id=channel_id, ts=ts)
    except ChannelError as exc:
        _retry_or_log(self, exc)


@shared_task(name=slack.RESPOND_TASK, bind=True, ignore_result=True, max_retries=3)
def slack_respond(self: Task, response_url: str, text: str) -> None:
    """Answer the person who clicked, and only them."""
    try:
        slack_api.respond(response_url, text)
    except ChannelError as exc:
        _retry_or_log(self, exc)


def _retry_or_log(task: Task, exc: ChannelError) -> None:
    if exc.permanent or task.request.retries >= (task.max_retries or 0):
        logger.warning("%s gave up: %s", task.name, exc.reason)
        return
    countdown = exc.retry_after or 2 ** (task.request.retries + 1)
    raise task.retry(exc=exc, countdown=countdown)


@shared_task(name="escalation.handoff_notices", ignore_result=True)
def handoff_notices() -> int:
    """Beat, every ESCALATION_HANDOFF_SWEEP_SECONDS: queue the handoff notices now due."""
    return handoffs.handoff_notices_send()
