"""The escalation engine: database state advanced by a periodic tick (plus a kick on commit).

A lost broker message, a restarted worker or a deploy loses no page: everything the engine
needs is in Incident.next_step_at and IncidentPage.send_at. Work is claimed with
select_for_update(skip_locked=True), so two engines running at once never run the same step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from escalation import business_hours, oncall, paging
from escalation.models import (
    BusinessCalendar,
    ContactMethodKind,
    Incident,
    IncidentPage,
    IncidentStatus,
    NotificationRule,
    PageStatus,
    Schedule,
    StepCondition,
    StepKind,
)
from escalation.services import event_add

logger = logging.getLogger(__name__)
BATCH = 100


@dataclass
class TickResult:
    steps: int = 0
    pages_sent: int = 0
    repaged: int = 0


def escalation_tick(*, now: datetime | None = None, limit: int = 2000) -> TickResult:
    """Run every due step and every due delayed page; returns what was done."""
    result = TickResult()
    while result.steps < limit:
        done = _advance_batch(now=now or timezone.now())
        result.steps += done
        if done < BATCH:
            break
    result.pages_sent = _send_due_pages(now=now or timezone.now(), limit=limit)
    return result


def _advance_batch(*, now: datetime) -> int:
    with transaction.atomic():
        due = list(
            Incident.objects.open()
            .filter(next_step_at__lte=now)
            .order_by("next_step_at")
            .select_for_update(skip_locked=True)[:BATCH]
        )
        for incident in due:
            _advance(incident, now)
    return len(due)


def incident_advance(*, incident_id: int, now: datetime | None = None) -> bool:
    """Run the incident's due step if it is due and not being run elsewhere; True if it ran."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = (
            Incident.objects.open()
            .filter(pk=incident_id, next_step_at__lte=now)
            .select_for_update(skip_locked=True)
            .first()
        )
        if incident is None:
            return False
        _advance(incident, now)
    _send_due_pages(now=now, limit=50, incident_id=incident_id)
    return True


ADVANCE_FIELDS = [
    "status",
    "current_step",
    "current_round",
    "repages",
    "next_step_at",
    "exhausted_at",
    "acknowledged_at",
    "updated_at",
]


def _advance(incident: Incident, now: datetime) -> None:
    """Run the incident's current step once and schedule the next (the row is locked)."""
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        _ack_timeout(incident, now)
    else:
        _next(incident, now)
    # Steps with no wait (or that told nobody) run at once, bounded by the number of steps.
    for _ in range(2 * len(incident.steps) + 2):
        if incident.next_step_at is None or incident.next_step_at > now:
            break
        _next(incident, now)
    incident.save(update_fields=ADVANCE_FIELDS)


def _next(incident: Incident, now: datetime) -> None:
    steps = incident.steps
    index = incident.current_step
    ran = index < len(steps)
    wait = 0
    if ran:
        try:
            wait = _run_step(incident, steps[index], index, now)
        except Exception as exc:  # a broken step must never stop the escalation
            logger.warning("incident %s step %s is broken: %s", incident.pk, index + 1, exc)
            event_add(
                incident=incident,
                kind="step_failed",
                message=f"Step {index + 1} is broken: {exc}. Moving on.",
            )
        index += 1
    if index < len(steps):
        incident.current_step = index
        incident.next_step_at = now + timedelta(minutes=wait)
    elif ran and incident.current_round < int(incident.policy_snapshot.get("repeat_count") or 0):
        incident.current_round += 1
        incident.current_step = 0
        incident.next_step_at = now + timedelta(minutes=wait)
        event_add(
            incident=incident,
            kind="repeat",
            message=f"No acknowledgement: running the policy again (round {incident.current_round + 1}).",
        )
    elif ran and wait:
        # Give the last step its wait before declaring the escalation exhausted.
        incident.current_step = index
        incident.next_step_at = now + timedelta(minutes=wait)
    else:
        _exhausted(incident, now)


def _exhausted(incident: Incident, now: datetime) -> None:
    incident.current_step = len(incident.steps)
    incident.next_step_at = None
    incident.exhausted_at = now
    text = (
        f"[SupportHub] UNACKNOWLEDGED: nobody acknowledged incident #{incident.pk} ({incident.title}) "
        "after every escalation step. It is still open."
    )
    _team_alert(incident, text, key=f"exhausted{incident.repages}", now=now)
    event_add(
        incident=incident, kind="exhausted", message="Every step and repeat ran unacknowledged; team alerted."
    )


def _ack_timeout(incident: Incident, now: datetime) -> None:
    incident.status = IncidentStatus.TRIGGERED
    incident.current_step = 0
    incident.current_round = 0
    incident.repages += 1
    incident.exhausted_at = None
    incident.acknowledged_at = None
    incident.next_step_at = now
    event_add(
        incident=incident,
        kind="ack_timeout",
        message="Acknowledged but not resolved within the ack timeout: paging again from the first step.",
    )
    _next(incident, now)


def _ref(step: dict[str, Any], key: str) -> int:
    """A snapshot's reference to another row (0, matching nothing, when it was empty)."""
    return int(step.get(key) or 0)


def _condition_holds(step: dict[str, Any], now: datetime) -> bool:
    condition = step.get("condition") or StepCondition.ALWAYS
    if condition == StepCondition.ALWAYS:
        return True
    calendar = BusinessCalendar.objects.filter(pk=_ref(step, "calendar_id")).first()
    if calendar is None:
        raise ValueError("its business calendar was deleted")
    is_open = business_hours.is_open(calendar, now)
    return is_open if condition == StepCondition.BUSINESS_HOURS else not is_open


def _run_step(incident: Incident, step: dict[str, Any], index: int, now: datetime) -> int:
    """Run one step; returns the minutes to wait before the next (0 when nobody was told)."""
    label = f"Step {index + 1}"
    wait = int(step.get("wait_minutes") or 0)
    if not _condition_holds(step, now):
        event_add(
            incident=incident,
            kind="step_skipped",
            message=f"{label} skipped: its business-hours condition does not hold.",
        )
        return 0
    kind = step.get("kind")
    base_key = f"incident:{incident.pk}:p{incident.repages}:r{incident.current_round}:s{index}"
    if kind == StepKind.SCHEDULE:
        schedule = Schedule.objects.filter(pk=_ref(step, "schedule_id")).first()
        if schedule is None:
            raise ValueError("its schedule was deleted")
        who = oncall.oncall_at(schedule, now)
        if who.is_gap:
            event_add(
                incident=incident,
                kind="nobody_oncall",
                message=f"{label}: nobody is on call on {schedule.name}; moving on.",
            )
            return 0
        count = _page_user(incident, who.user, base_key, now)
        event_add(
            incident=incident,
            kind="paged",
            message=f"{label}: paged {who.user} (on call on {schedule.name}) by {count} method(s).",
        )
        return wait
    if kind == StepKind.USER:
        user = get_user_model().objects.filter(pk=_ref(step, "user_id"), is_active=True).first()
        if user is None:
            raise ValueError("its person was deleted or deactivated")
        count = _page_user(incident, user, base_key, now)
        event_add(incident=incident, kind="paged", message=f"{label}: paged {user} by {count} method(s).")
        return wait
    if kind == StepKind.SLACK:
        channel = step.get("slack_channel") or settings.SLACK_CHANNEL or "#support"
        _page(incident, None, "slack", channel, f"{base_key}:slack", now, now)
        event_add(incident=incident, kind="paged", message=f"{label}: posted to Slack {channel}.")
        return wait
    if kind == StepKind.TEAM_EMAIL:
        address = step.get("email") or settings.SUPPORT_TEAM_EMAIL
        if not address:
            raise ValueError("no team email address (set SUPPORT_TEAM_EMAIL or the step's email)")
        _page(incident, None, "email", address, f"{base_key}:email", now, now)
        event_add(incident=incident, kind="paged", message=f"{label}: emailed {address}.")
        return wait
    raise ValueError(f"unknown step kind {kind!r}")


def _page_user(incident: Incident, user: Any, base_key: str, now: datetime) -> int:
    """Page a person by their notification rules (all contact methods at once if they have none)."""
    plan: list[tuple[str, str, int]] = [
        (rule.method.kind, rule.method.address, rule.delay_minutes)
        for rule in NotificationRule.objects.filter(user=user).select_related("method")
    ]
    if not plan:
        plan = [(method.kind, method.address, 0) for method in user.contact_methods.all()]
    if not plan and user.email:
        plan = [(ContactMethodKind.EMAIL, user.email, 0)]
    for kind, address, delay in plan:
        key = f"{base_key}:u{user.pk}:{kind}:{address}:{delay}"
        _page(incident, user, kind, address, key, now + timedelta(minutes=delay), now)
    return len(plan)


def page_body(incident: Incident, channel: str) -> str:
    ticket = f" Ticket {incident.ticket.reference}." if incident.ticket_id and incident.ticket else ""
    runbook = incident.policy_snapshot.get("runbook") or ""
    runbook_text = f" Runbook: {runbook}" if runbook else ""
    if channel == "voice":
        return f"SupportHub incident {incident.pk}. {incident.title}.{ticket} Press 1 to acknowledge."
    return (
        f"[SupportHub] Incident #{incident.pk}: {incident.title}.{ticket}"
        f" Reply ACK {incident.pk} to acknowledge.{runbook_text}"
    )


def _page(
    incident: Incident,
    user: Any,
    channel: str,
    recipient: str,
    key: str,
    send_at: datetime,
    now: datetime,
    body: str = "",
) -> IncidentPage:
    page, created = IncidentPage.objects.get_or_create(
        idempotency_key=key[:200],
        defaults={
            "incident": incident,
            "user": user,
            "channel": channel,
            "recipient": recipient,
            "send_at": send_at,
            "body": body or page_body(incident, channel),
        },
    )
    if created and send_at <= now:
        _send(page, incident)
    return page


def _send(page: IncidentPage, incident: Incident) -> None:
    try:
        with transaction.atomic():
            delivery_id = paging.page(
                incident=incident,
                channel=page.channel,
                recipient=page.recipient,
                body=page.body or page_body(incident, page.channel),
                subject=f"[SupportHub] Incident #{incident.pk}: {incident.title}",
                idempotency_key=page.idempotency_key,
            )
    except Exception as exc:  # a bad address must not stop the other pages
        logger.exception("page %s failed", page.idempotency_key)
        page.status, page.error = PageStatus.FAILED, str(exc)[:1000]
        page.save(update_fields=["status", "error"])
        event_add(
            incident=incident,
            kind="page_failed",
            message=f"Page by {page.channel} to {page.recipient} failed: {exc}",
        )
        return
    page.status, page.delivery_id, page.sent_at = PageStatus.SENT, delivery_id, timezone.now()
    page.save(update_fields=["status", "delivery_id", "sent_at"])


def _send_due_pages(*, now: datetime, limit: int, incident_id: int | None = None) -> int:
    sent = 0
    with transaction.atomic():
        due = IncidentPage.objects.filter(status=PageStatus.SCHEDULED, send_at__lte=now)
        if incident_id is not None:
            due = due.filter(incident_id=incident_id)
        for page in due.select_related("incident__ticket").select_for_update(skip_locked=True, of=("self",))[
            :limit
        ]:
            if page.incident.status != IncidentStatus.TRIGGERED:
                page.status = PageStatus.CANCELLED
                page.save(update_fields=["status"])
                continue
            _send(page, page.incident)
            sent += 1
    return sent


def _team_alert(incident: Incident, text: str, *, key: str, now: datetime) -> None:
    channel = settings.SLACK_CHANNEL or "#support"
    _page(incident, None, "slack", channel, f"incident:{incident.pk}:{key}:slack", now, now, body=text)
    if settings.SUPPORT_TEAM_EMAIL:
        address = settings.SUPPORT_TEAM_EMAIL
        _page(incident, None, "email", address, f"incident:{incident.pk}:{key}:email", now, now, body=text)
