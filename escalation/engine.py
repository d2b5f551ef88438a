"""The escalation engine: database state advanced by a periodic tick (plus a kick on commit).

A lost broker message, a restarted worker or a deploy loses no page: everything the engine
needs is in Incident.next_step_at and IncidentPage.send_at. Work is claimed with
select_for_update(skip_locked=True), so two engines running at once never run the same step.
A batch of due incidents is handled in one transaction with its reads cached and its writes
(pages, timeline events, incident rows) done in bulk, and its pages' sends published
together when it commits (a few tasks, not one per page).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from escalation import business_hours, oncall, paging
from escalation.models import (
    BusinessCalendar,
    ContactMethodKind,
    Incident,
    IncidentEvent,
    IncidentPage,
    IncidentStatus,
    NotificationRule,
    PageStatus,
    Schedule,
    StepCondition,
    StepKind,
)
from notifications.models import Delivery
from notifications.outbox import sends_batched
from notifications.paging import incident_paging_sync
from notifications.recipients import slack_chooses_channel, team_emails, team_slack, team_targets
from supporthub.text import sentence

logger = logging.getLogger(__name__)
BATCH = 100
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


@dataclass
class TickResult:
    steps: int = 0
    pages_sent: int = 0


@dataclass
class _Batch:
    """Reads cached and writes collected while one batch of locked incidents is advanced."""

    now: datetime
    specs: dict[int, oncall.ScheduleSpec | None] = field(default_factory=dict)
    plans: dict[int, list[tuple[str, str, int]]] = field(default_factory=dict)
    calendars: dict[int, Any] = field(default_factory=dict)
    users: dict[int, Any] = field(default_factory=dict)
    events: list[IncidentEvent] = field(default_factory=list)
    pages: list[IncidentPage] = field(default_factory=list)
    outgoing: list[tuple[IncidentPage, Delivery]] = field(default_factory=list)

    def event(self, incident: Incident, kind: str, message: str) -> None:
        self.events.append(IncidentEvent(incident=incident, kind=kind, message=message, via="engine"))

    def spec(self, schedule_id: int) -> oncall.ScheduleSpec | None:
        if schedule_id not in self.specs:
            schedule = Schedule.objects.filter(pk=schedule_id).first()
            self.specs[schedule_id] = oncall.load(schedule, overrides_from=self.now) if schedule else None
        return self.specs[schedule_id]

    def plan(self, user: Any) -> list[tuple[str, str, int]]:
        """(kind, address, delay minutes) for paging `user`: their rules, else every method at once."""
        if user.pk not in self.plans:
            plan = [
                (rule.method.kind, rule.method.address, rule.delay_minutes)
                for rule in NotificationRule.objects.filter(user=user).select_related("method")
            ]
            if not plan:
                plan = [(m.kind, m.address, 0) for m in user.contact_methods.all()]
            if not plan and user.email:
                plan = [(ContactMethodKind.EMAIL, user.email, 0)]
            self.plans[user.pk] = plan
        return self.plans[user.pk]

    def user(self, user_id: int) -> Any:
        """The active person `user_id`, or None."""
        if user_id not in self.users:
            self.users[user_id] = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        return self.users[user_id]

    def calendar(self, calendar_id: int) -> Any:
        if calendar_id not in self.calendars:
            calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
            self.calendars[calendar_id] = business_hours.load(calendar) if calendar else None
        return self.calendars[calendar_id]

    def hand_over(self) -> None:
        """Write the deliveries of the pages sent now (one INSERT) and link them to their pages."""
        deliveries = paging.pages_save([delivery for _, delivery in self.outgoing])
        for (page, _), delivery in zip(self.outgoing, deliveries, strict=True):
            page.status, page.delivery_id, page.sent_at = PageStatus.SENT, delivery.pk, timezone.now()
        self.outgoing = []

    def flush(self, incidents: list[Incident]) -> None:
        self.hand_over()
        IncidentPage.objects.bulk_create(self.pages, ignore_conflicts=True)
        IncidentEvent.objects.bulk_create(self.events)
        # Incidents of one batch mostly end in the same state: one UPDATE per distinct state
        # (Django's bulk_update builds a CASE per row and field, far slower here).
        groups: dict[tuple[Any, ...], list[int]] = {}
        for incident in incidents:
            incident.updated_at = self.now
            state = tuple(getattr(incident, name) for name in ADVANCE_FIELDS)
            groups.setdefault(state, []).append(incident.pk)
        for state, ids in groups.items():
            Incident.objects.filter(pk__in=ids).update(**dict(zip(ADVANCE_FIELDS, state, strict=True)))


def escalation_tick(*, now: datetime | None = None, limit: int = 5000) -> TickResult:
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
    with transaction.atomic(), sends_batched():
        due = list(
            Incident.objects.open()
            .filter(next_step_at__lte=now)
            .select_related("ticket")
            .order_by("next_step_at")
            .select_for_update(skip_locked=True, of=("self",))[:BATCH]
        )
        batch = _Batch(now=now)
        for incident in due:
            _advance(incident, batch)
        batch.flush(due)
    return len(due)


def incident_advance(*, incident_id: int, now: datetime | None = None) -> bool:
    """Run the incident's due step if it is due and not being run elsewhere; True if it ran."""
    now = now or timezone.now()
    with transaction.atomic(), sends_batched():
        incident = (
            Incident.objects.open()
            .filter(pk=incident_id, next_step_at__lte=now)
            .select_for_update(skip_locked=True)
            .first()
        )
        if incident is None:
            return False
        batch = _Batch(now=now)
        _advance(incident, batch)
        batch.flush([incident])
    return True


def _advance(incident: Incident, batch: _Batch) -> None:
    """Run the incident's current step once and schedule the next (the row is locked)."""
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        _ack_timeout(incident, batch)
    else:
        _next(incident, batch)
    # Steps with no wait (or that told nobody) run at once, bounded by the number of steps.
    for _ in range(2 * len(incident.steps) + 2):
        if incident.next_step_at is None or incident.next_step_at > batch.now:
            break
        _next(incident, batch)


def step_wait(step: dict[str, Any], *, reached: bool) -> int:
    """Minutes from a step to the next: its wait when it reached anyone, else 0 (the next runs at once)."""
    return int(step.get("wait_minutes") or 0) if reached else 0


def step_after(index: int, round_: int, *, steps: int, repeat_count: int) -> tuple[int, int] | None:
    """(step, round) that runs after step `index` of round `round_`; None when that was the last."""
    if index + 1 < steps:
        return index + 1, round_
    if round_ < repeat_count:
        return 0, round_ + 1
    return None


def _next(incident: Incident, batch: _Batch) -> None:
    steps = incident.steps
    index = incident.current_step
    if index >= len(steps):  # the last step's wait is over (or there are no steps)
        _exhausted(incident, batch)
        return
    reached = False
    try:
        reached = _run_step(incident, steps[index], index, batch)
    except Exception as exc:  # a broken step must never stop the escalation
        logger.warning("incident %s step %s is broken: %s", incident.pk, index + 1, exc)
        batch.event(incident, "step_failed", f"Step {index + 1} is broken: {exc}. Moving on.")
    wait = step_wait(steps[index], reached=reached)
    repeat_count = int(incident.policy_snapshot.get("repeat_count") or 0)
    after = step_after(index, incident.current_round, steps=len(steps), repeat_count=repeat_count)
    if after is None and not wait:
        _exhausted(incident, batch)
        return
    incident.next_step_at = batch.now + timedelta(minutes=wait)
    if after is None:
        incident.current_step = len(steps)  # give the last step its wait before declaring it exhausted
        return
    if after[1] != incident.current_round:
        batch.event(
            incident, "repeat", f"No acknowledgement: running the policy again (round {after[1] + 1})."
        )
    incident.current_step, incident.current_round = after


def _exhausted(incident: Incident, batch: _Batch) -> None:
    incident.current_step = len(incident.steps)
    incident.next_step_at = None
    incident.exhausted_at = batch.now
    text = (
        f"[SupportHub] UNACKNOWLEDGED: nobody acknowledged incident #{incident.pk} ({incident.title}) "
        "after every escalation step. It is still open."
    )
    subject = f"[SupportHub] UNACKNOWLEDGED incident #{incident.pk}: {incident.title}"
    targets = team_targets(f"incident:{incident.pk}:exhausted{incident.repages}")
    for channel, recipient, key in targets:
        _page(incident, None, channel, recipient, key, batch, body=text, subject=subject)
    alerted = "team alerted" if targets else "nobody to alert (set SUPPORT_TEAM_EMAIL or SLACK_WEBHOOK_URL)"
    batch.event(incident, "exhausted", f"Every step and repeat ran unacknowledged; {alerted}.")


def _ack_timeout(incident: Incident, batch: _Batch) -> None:
    incident.status = IncidentStatus.TRIGGERED
    incident.current_step = 0
    incident.current_round = 0
    incident.repages += 1
    incident.exhausted_at = None
    incident.acknowledged_at = None
    incident.next_step_at = batch.now
    batch.event(
        incident,
        "ack_timeout",
        "Acknowledged but not resolved within the ack timeout: paging again from the first step.",
    )
    incident_paging_sync(incident=incident, action="trigger")  # PagerDuty / Opsgenie page again too
    paging.slack_pages_redraw(incident.pk)  # its Slack messages offer Acknowledge again
    _next(incident, batch)


def _ref(step: dict[str, Any], key: str) -> int:
    """A snapshot's reference to another row (0, matching nothing, when it was empty)."""
    return int(step.get(key) or 0)


def condition_holds(condition: str, calendar: Any, when: datetime) -> bool:
    """Whether a step's condition holds at `when`; `calendar` is its loaded business calendar."""
    if condition == StepCondition.ALWAYS:
        return True
    if calendar is None:
        raise ValueError("its business calendar was deleted")
    is_open = business_hours.is_open(calendar, when)
    return is_open if condition == StepCondition.BUSINESS_HOURS else not is_open


def _condition_holds(step: dict[str, Any], batch: _Batch) -> bool:
    condition = step.get("condition") or StepCondition.ALWAYS
    calendar = None if condition == StepCondition.ALWAYS else batch.calendar(_ref(step, "calendar_id"))
    return condition_holds(condition, calendar, batch.now)


def step_key(incident: Incident, round_: int, index: int) -> str:
    """The prefix of the idempotency keys of the pages of step `index` in round `round_`
    (of the incident's current re-page)."""
    return f"incident:{incident.pk}:p{incident.repages}:r{round_}:s{index}"


def waiting_step_key(incident: Incident) -> str | None:
    """`step_key` of the step whose wait the incident is in (the last one run), or None
    before the first step has run."""
    if incident.current_step > 0:
        return step_key(incident, incident.current_round, incident.current_step - 1)
    if incident.current_round > 0:
        return step_key(incident, incident.current_round - 1, len(incident.steps) - 1)
    return None


def _run_step(incident: Incident, step: dict[str, Any], index: int, batch: _Batch) -> bool:
    """Run one step; returns whether it reached anyone (see `step_wait`)."""
    label = f"Step {index + 1}"
    if not _condition_holds(step, batch):
        batch.event(incident, "step_skipped", f"{label} skipped: its business-hours condition does not hold.")
        return False
    kind = step.get("kind")
    base_key = step_key(incident, incident.current_round, index)
    if kind == StepKind.SCHEDULE:
        spec = batch.spec(_ref(step, "schedule_id"))
        if spec is None:
            raise ValueError("its schedule was deleted")
        who = oncall.oncall_at(spec, batch.now, with_until=False)
        if who.is_gap:
            batch.event(incident, "nobody_oncall", f"{label}: nobody is on call on this schedule; moving on.")
            return False
        count = _page_user(incident, who.user, base_key, batch)
        batch.event(incident, "paged", f"{label}: paged {who.user} (on call) by {count} method(s).")
        return True
    if kind == StepKind.USER:
        user = batch.user(_ref(step, "user_id"))
        if user is None:
            raise ValueError("its person was deleted or deactivated")
        count = _page_user(incident, user, base_key, batch)
        batch.event(incident, "paged", f"{label}: paged {user} by {count} method(s).")
        return True
    if kind == StepKind.SLACK:
        own = step.get("slack_channel") or ""
        channel = own if own and slack_chooses_channel() else team_slack()
        if channel is None:
            batch.event(incident, "step_skipped", f"{label} skipped: Slack is not configured.")
            return False
        _page(incident, None, "slack", channel, f"{base_key}:slack", batch)
        ignored = f" (its channel {own} needs SLACK_BOT_TOKEN)" if own and channel != own else ""
        batch.event(incident, "paged", f"{label}: posted to Slack {channel}{ignored}.")
        return True
    if kind == StepKind.TEAM_EMAIL:
        addresses = [step["email"]] if step.get("email") else team_emails()
        if not addresses:
            raise ValueError("no team email address (set SUPPORT_TEAM_EMAIL or the step's email)")
        for address in addresses:
            _page(incident, None, "email", address, f"{base_key}:email:{address.lower()}", batch)
        batch.event(incident, "paged", f"{label}: emailed {', '.join(addresses)}.")
        return True
    raise ValueError(f"unknown step kind {kind!r}")


def _page_user(incident: Incident, user: Any, base_key: str, batch: _Batch) -> int:
    plan = batch.plan(user)
    for kind, address, delay in plan:
        key = f"{base_key}:u{user.pk}:{kind}:{address}:{delay}"
        _page(incident, user, kind, address, key, batch, send_at=batch.now + timedelta(minutes=delay))
    return len(plan)


def page_body(incident: Incident, channel: str) -> str:
    ticket = f" Ticket {incident.ticket.reference}." if incident.ticket_id and incident.ticket else ""
    runbook = incident.policy_snapshot.get("runbook") or ""
    runbook_text = f" Runbook: {runbook}" if runbook else ""
    title = sentence(incident.title)
    if channel == "voice":
        return f"SupportHub incident {incident.pk}. {title}{ticket}"
    return (
        f"[SupportHub] Incident #{incident.pk}: {title}{ticket}"
        f" Reply ACK {incident.pk} to acknowledge.{runbook_text}"
    )


def _page(
    incident: Incident,
    user: Any,
    channel: str,
    recipient: str,
    key: str,
    batch: _Batch,
    *,
    send_at: datetime | None = None,
    body: str = "",
    subject: str = "",
) -> None:
    """Record a page; send it now unless it is delayed (the tick sends it when due).

    A `subject` other than the usual page subject is only for pages sent at once."""
    page = IncidentPage(
        incident=incident,
        user=user,
        channel=channel,
        recipient=recipient,
        idempotency_key=key[:200],
        send_at=send_at or batch.now,
        body=body or page_body(incident, channel),
    )
    if page.send_at <= batch.now:
        _send(page, incident, batch, subject=subject)
    batch.pages.append(page)


def _send(page: IncidentPage, incident: Incident, batch: _Batch, *, subject: str = "") -> None:
    """Add the page's Delivery to those the batch hands to the outbox; a page the outbox
    refuses is marked failed (nothing saved here)."""
    try:
        delivery = paging.page_new(
            incident=incident,
            channel=page.channel,
            recipient=page.recipient,
            body=page.body or page_body(incident, page.channel),
            subject=subject or f"[SupportHub] Incident #{incident.pk}: {incident.title}",
            idempotency_key=page.idempotency_key,
        )
    except Exception as exc:  # a bad address must not stop the other pages
        logger.warning("page %s failed: %s", page.idempotency_key, exc)
        page.status, page.error = PageStatus.FAILED, str(exc)[:1000]
        batch.event(incident, "page_failed", f"Page by {page.channel} to {page.recipient} failed: {exc}")
        return
    batch.outgoing.append((page, delivery))


def _send_due_pages(*, now: datetime, limit: int) -> int:
    """Send delayed pages that are due (cancelling those whose incident is no longer triggered)."""
    sent = 0
    with transaction.atomic(), sends_batched():
        due = list(
            IncidentPage.objects.filter(status=PageStatus.SCHEDULED, send_at__lte=now)
            .select_related("incident__ticket")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        batch = _Batch(now=now)
        for page in due:
            if page.incident.status != IncidentStatus.TRIGGERED:
                page.status = PageStatus.CANCELLED
                continue
            _send(page, page.incident, batch)
            sent += 1
        batch.hand_over()
        IncidentPage.objects.bulk_update(due, ["status", "delivery", "sent_at", "error"])
        IncidentEvent.objects.bulk_create(batch.events)
    return sent
