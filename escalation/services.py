"""Incident verbs: trigger, acknowledge, resolve, escalate (from the API, admin, Slack, SMS
and paging calls), and acting on an on-call person's text."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation import engine, pager, paging, reachability, replies, slack_blocks
from escalation.models import (
    ContactMethod,
    ContactMethodKind,
    EscalationPolicy,
    Incident,
    IncidentEvent,
    IncidentPage,
    IncidentStatus,
    PageCallOutcome,
    PageStatus,
    Schedule,
    TriggerReason,
)
from escalation.models.schedules import new_feed_token
from supporthub import metrics  # time-to-acknowledge
from supporthub.exceptions import DomainError
from supporthub.phone import InvalidPhoneNumber, to_e164
from supporthub.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

# The kick queued when an incident opens, so its first page needs no beat (escalation.tasks).
ADVANCE_TASK = "escalation.incident_advance"
REASON_FLAG = {
    TriggerReason.URGENT_TICKET: "on_urgent_ticket",
    TriggerReason.SLA_BREACH: "on_sla_breach",
    TriggerReason.MISSED_CALL: "on_missed_call",
}


def event_add(
    *,
    incident: Incident,
    kind: str,
    message: str,
    actor: Any = None,
    actor_name: str = "",
    via: str = "engine",
) -> IncidentEvent:
    """One timeline line; `actor_name` defaults to the user's username."""
    name = actor_name or (actor.get_username() if actor is not None else "")
    event = IncidentEvent.objects.create(
        incident=incident, kind=kind, message=message, actor=actor, actor_name=name[:200], via=via
    )
    if kind in slack_blocks.HUMAN_EVENTS:
        paging.slack_pages_redraw(incident.pk)
    return event


def policy_snapshot(policy: EscalationPolicy) -> dict[str, Any]:
    return {
        "policy_id": policy.pk,
        "name": policy.name,
        "repeat_count": policy.repeat_count,
        "runbook": policy.runbook,
        "ack_timeout_minutes": policy.ack_timeout_minutes,
        "steps": [step.snapshot() for step in policy.steps.all()],
    }


def policy_for(reason: str) -> EscalationPolicy | None:
    """The policy that handles `reason`, or None when that trigger is switched off."""
    flag = REASON_FLAG.get(TriggerReason(reason))
    policies = EscalationPolicy.objects.order_by("id")
    if flag is None:  # API and manual triggers: the first policy
        return policies.first()
    return policies.filter(**{flag: True}).first()


def _open_duplicate(ticket: Any, dedup_key: str | None) -> Incident | None:
    if ticket is not None:
        found = Incident.objects.open().filter(ticket=ticket).first()
        if found is not None:
            return found
    if dedup_key:
        return Incident.objects.open().filter(dedup_key=dedup_key).first()
    return None


def incident_trigger(
    *,
    ticket: Any = None,
    reason: str,
    dedup_key: str | None = None,
    title: str = "",
    policy: EscalationPolicy | None = None,
    actor: User | None = None,
) -> Incident | None:
    """Open an incident and start its escalation; returns it (or the one already open).

    A ticket or dedup_key that already has an open incident gets that incident back (an
    event notes the repeated trigger). Returns None when no policy handles `reason`
    (that trigger is switched off). Raises DomainError when neither title nor ticket is given.
    """
    incident, _ = incident_open(
        ticket=ticket, reason=reason, dedup_key=dedup_key, title=title, policy=policy, actor=actor
    )
    return incident


@transaction.atomic
def incident_open(
    *,
    ticket: Any = None,
    reason: str,
    dedup_key: str | None = None,
    title: str = "",
    policy: EscalationPolicy | None = None,
    actor: User | None = None,
    actor_name: str = "",
) -> tuple[Incident | None, bool]:
    """incident_trigger, also telling whether a new incident was created. `actor_name` names
    who opened it when that was not a user (an API key)."""
    if ticket is None and not title:
        raise DomainError("Give a title or a ticket.", field="title")
    if policy is None:
        policy = policy_for(reason)
        if policy is None:
            logger.info("no escalation policy handles %s; no incident opened", reason)
            return None, False
    existing = _open_duplicate(ticket, dedup_key)
    if existing is not None:
        event_add(incident=existing, kind="retriggered", message=f"Triggered again ({reason}).", via=reason)
        return existing, False
    if not title:
        title = f"{ticket.reference or 'Ticket'}: {ticket.subject}"
    now = timezone.now()
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=title[:200],
                ticket=ticket,
                policy=policy,
                policy_snapshot=policy_snapshot(policy),
                reason=reason,
                dedup_key=dedup_key or None,
                next_step_at=now,
            )
    except IntegrityError:
        # A concurrent trigger for the same ticket or key won the race.
        existing = _open_duplicate(ticket, dedup_key)
        if existing is None:
            raise
        return existing, False
    opener = actor_name or (str(actor) if actor else "")
    who = f" by {opener}" if opener else ""
    event_add(
        incident=incident,
        kind="triggered",
        message=f"Opened{who} ({TriggerReason(reason).label}) on policy {policy.name}.",
        actor=actor,
        actor_name=actor_name,
        via=reason,
    )
    _paging_sync(incident, "trigger")  # mirror to PagerDuty / Opsgenie when configured
    enqueue_on_commit(ADVANCE_TASK, incident.pk)
    return incident, True


def _paging_sync(incident: Incident, action: str) -> None:
    """PagerDuty / Opsgenie follow the incident through the outbox."""
    from notifications.paging import incident_paging_sync

    incident_paging_sync(incident=incident, action=action)


def _cancel_scheduled_pages(incident: Incident) -> int:
    return IncidentPage.objects.filter(incident=incident, status=PageStatus.SCHEDULED).update(
        status=PageStatus.CANCELLED
    )


def _locked(incident: Incident | int) -> Incident:
    pk = incident if isinstance(incident, int) else incident.pk
    return Incident.objects.select_for_update().get(pk=pk)


@transaction.atomic
def incident_acknowledge(
    *, incident: Incident | int, user: User | None = None, via: str = "api", actor_name: str = ""
) -> Incident:
    """Stop the escalation at once; re-page after the policy's ack timeout if still unresolved.
    `actor_name` names who acknowledged when that was not a user (an API key).

    Raises DomainError if the incident is already resolved. Acknowledging twice is a no-op.
    """
    incident = _locked(incident)
    if incident.status == IncidentStatus.RESOLVED:
        raise DomainError(
            f"Incident {incident.pk} is already resolved.", field="status", code="invalid_transition"
        )
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        return incident
    now = timezone.now()
    timeout = int(incident.policy_snapshot.get("ack_timeout_minutes") or 0)
    incident.status = IncidentStatus.ACKNOWLEDGED
    incident.acknowledged_by = user
    incident.acknowledged_at = now
    incident.next_step_at = now + timedelta(minutes=timeout) if timeout else None
    incident.save(
        update_fields=["status", "acknowledged_by", "acknowledged_at", "next_step_at", "updated_at"]
    )
    cancelled = _cancel_scheduled_pages(incident)
    metrics.record_incident_acknowledged(seconds=(now - incident.created_at).total_seconds())
    _paging_sync(incident, "acknowledge")  # mirror to PagerDuty / Opsgenie
    who = actor_name or (user.get_username() if user else "an API client")
    extra = f"; {cancelled} pending page(s) cancelled" if cancelled else ""
    event_add(
        incident=incident,
        kind="acknowledged",
        message=f"Acknowledged by {who} via {via}{extra}.",
        actor=user,
        actor_name=actor_name,
        via=via,
    )
    return incident


@transaction.atomic
def incident_resolve(
    *, incident: Incident | int, user: User | None = None, via: str = "api", actor_name: str = ""
) -> Incident:
    """Close the incident (from triggered or acknowledged). Resolving twice is a no-op.
    `actor_name` names who resolved it when that was not a user (an API key)."""
    incident = _locked(incident)
    if incident.status == IncidentStatus.RESOLVED:
        return incident
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_by = user
    incident.resolved_at = timezone.now()
    incident.next_step_at = None
    incident.save(update_fields=["status", "resolved_by", "resolved_at", "next_step_at", "updated_at"])
    _cancel_scheduled_pages(incident)
    _paging_sync(incident, "resolve")  # mirror to PagerDuty / Opsgenie
    who = actor_name or (user.get_username() if user else "an API client")
    event_add(
        incident=incident,
        kind="resolved",
        message=f"Resolved by {who} via {via}.",
        actor=user,
        actor_name=actor_name,
        via=via,
    )
    return incident


@transaction.atomic
def incident_escalate(
    *, incident: Incident | int, user: User | None = None, via: str = "api", actor_name: str = ""
) -> Incident:
    """Run the incident's next escalation step now; an acknowledged incident is triggered again.
    `actor_name` names who escalated when that was not a user (an API key).

    Raises DomainError when the incident is resolved or every step has already run.
    """
    incident = _locked(incident)
    if incident.status == IncidentStatus.RESOLVED:
        raise DomainError(
            f"Incident {incident.pk} is already resolved.", field="status", code="invalid_transition"
        )
    if incident.exhausted_at is not None:
        raise DomainError(
            f"Incident {incident.pk} has run every escalation step; nobody is left to escalate to.",
            field="status",
            code="invalid_transition",
        )
    incident.status = IncidentStatus.TRIGGERED
    incident.acknowledged_at = None
    incident.next_step_at = timezone.now()
    incident.save(update_fields=["status", "acknowledged_at", "next_step_at", "updated_at"])
    who = actor_name or (user.get_username() if user else "an API client")
    event_add(
        incident=incident,
        kind="escalated",
        message=f"Escalated by {who} via {via}: the next step runs now.",
        actor=user,
        actor_name=actor_name,
        via=via,
    )
    enqueue_on_commit(ADVANCE_TASK, incident.pk)
    return incident


@dataclass(frozen=True)
class StaffTextResult:
    """What a text from on-call staff did: the answer to send back, and the incident it
    acknowledged (None when it acknowledged nothing)."""

    reply: str
    incident: Incident | None = None


def _staff_by_number(number: str) -> User | None:
    """The active person with an SMS or voice contact method of `number` (any format), or None."""
    try:
        e164 = to_e164(number)
    except InvalidPhoneNumber:
        return None
    method = (
        ContactMethod.objects.filter(
            address=e164,
            kind__in=[ContactMethodKind.SMS, ContactMethodKind.VOICE],
            user__is_active=True,
        )
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return method.user if method is not None else None


def staff_text_receive(*, from_number: str, text: str) -> StaffTextResult | None:
    """Act on a text from on-call staff; None when `from_number` is not staff's (a customer's text).

    A text from staff is a command, never a ticket: `replies.parse` says which. ACK
    acknowledges the incident it names, or the newest triggered incident that paged the
    sender; an incident that did not page the sender is refused (a text's sender can be
    forged; the API and admin acknowledge any incident). TAKE takes the pager
    (`escalation.pager`); VERIFY answers a test page (`escalation.reachability`). Anything
    else is answered with the list of commands.
    """
    user = _staff_by_number(from_number)
    if user is None:
        return None
    command = replies.parse(text)
    if isinstance(command, replies.Acknowledge):
        return _acknowledge_by_text(user, command.incident_id)
    if isinstance(command, replies.Take):
        return StaffTextResult(reply=pager.pager_take_by_text(user=user, schedule_name=command.schedule))
    if isinstance(command, replies.Verify):
        reply = reachability.contact_method_verify_by_text(number=from_number, code=command.code)
        return StaffTextResult(reply=reply)
    logger.info("text from on-call %s is no command; answered with help", user)
    return StaffTextResult(reply=replies.HELP)


def _acknowledge_by_text(user: User, incident_id: int | None) -> StaffTextResult:
    paged = Incident.objects.filter(pages__user=user)
    if incident_id is None:
        incident = paged.filter(status=IncidentStatus.TRIGGERED).order_by("-created_at", "-id").first()
        if incident is None:
            return StaffTextResult(reply="Nothing to acknowledge: no open incident is paging you.")
    else:
        incident = paged.filter(pk=incident_id).first()
        if incident is None:
            return StaffTextResult(reply=f"Incident #{incident_id} did not page you; nothing acknowledged.")
        if incident.status != IncidentStatus.TRIGGERED:
            return StaffTextResult(reply=f"Incident #{incident_id} is already {incident.status}.")
    try:
        incident = incident_acknowledge(incident=incident, user=user, via="sms")
    except DomainError:  # resolved since it was read
        return StaffTextResult(reply=f"Incident #{incident.pk} is already resolved.")
    title = incident.title[:60].rstrip(" .")
    reply = f"Acknowledged incident #{incident.pk} ({title}). Escalation stopped."
    return StaffTextResult(reply=reply, incident=incident)


def incident_acknowledge_from_delivery(*, delivery_id: int, digits: str) -> Incident | None:
    """Acknowledge from a keypress on a paging call: digits "1" on the call of `delivery_id`.

    Returns the acknowledged incident, or None (another key, an unknown delivery, or an
    incident no longer triggered).
    """
    if (digits or "").strip() != "1":
        return None
    page = IncidentPage.objects.filter(delivery_id=delivery_id).select_related("incident", "user").first()
    if page is None or page.incident.status != IncidentStatus.TRIGGERED:
        return None
    return incident_acknowledge(incident=page.incident, user=page.user, via="voice")


# Twilio's answering machine detection: AnsweredBy values that are no person.
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
# A paging call's final statuses; "completed" means answered, by a person or a machine.
FINAL_CALL_OUTCOMES = {
    "completed": PageCallOutcome.ANSWERED,
    "busy": PageCallOutcome.BUSY,
    "no-answer": PageCallOutcome.NO_ANSWER,
    "failed": PageCallOutcome.FAILED,
    "canceled": PageCallOutcome.CANCELED,
}
UNANSWERED = [outcome for outcome in PageCallOutcome.values if outcome != PageCallOutcome.ANSWERED]


@transaction.atomic
def page_call_status_record(*, delivery_id: int, status: str, answered_by: str = "") -> IncidentPage | None:
    """Record a status callback of the paging call of `delivery_id`; returns its page (None
    when no voice page has that delivery).

    The outcome is decided once, by the first final status (completed, busy, no-answer,
    failed, canceled): replays and late callbacks change nothing. A call answered by a
    machine (Twilio's AnsweredBy, from this callback or an earlier "answered" one) is not
    delivered. When no call of the step the incident is waiting after reached a person,
    the next step is due at once.
    """
    page = IncidentPage.objects.filter(delivery_id=delivery_id, channel="voice").first()
    if page is None:
        logger.warning("status %r for paging call of unknown delivery %s ignored", status, delivery_id)
        return None
    answered_by = answered_by.strip()[:32]
    if answered_by and not page.answered_by:
        IncidentPage.objects.filter(pk=page.pk, answered_by="").update(answered_by=answered_by)
        page.answered_by = answered_by
    outcome = FINAL_CALL_OUTCOMES.get(status)
    if outcome is None:
        return page
    if outcome == PageCallOutcome.ANSWERED and page.answered_by in MACHINE_ANSWERS:
        outcome = PageCallOutcome.MACHINE
    if not IncidentPage.objects.filter(pk=page.pk, call_outcome="").update(call_outcome=outcome):
        return page  # decided by an earlier callback
    page.call_outcome = outcome
    texts = {
        PageCallOutcome.ANSWERED: "answered by a person",
        PageCallOutcome.MACHINE: "reached voicemail or an answering machine: not delivered",
    }
    text = texts.get(outcome, f"not answered ({outcome})")
    event_add(
        incident=page.incident,
        kind=f"call_{outcome}",
        message=f"Call to {page.recipient} {text}.",
        via="voice",
    )
    if outcome != PageCallOutcome.ANSWERED:
        _next_step_now_if_unanswered(page)
    return page


def _next_step_now_if_unanswered(page: IncidentPage) -> None:
    """Make the incident's next step due now when `page` is a call of the step it waits after,
    that step has no page still to send, and none of its calls is ringing or reached a person."""
    incident = _locked(page.incident_id)
    now = timezone.now()
    if (
        incident.status != IncidentStatus.TRIGGERED
        or not incident.next_step_at
        or incident.next_step_at <= now
    ):
        return
    key = engine.waiting_step_key(incident)
    if key is None or not page.idempotency_key.startswith(f"{key}:"):
        return
    step_pages = IncidentPage.objects.filter(incident=incident, idempotency_key__startswith=f"{key}:")
    if step_pages.filter(status=PageStatus.SCHEDULED).exists():
        return
    if (
        step_pages.filter(channel="voice", status=PageStatus.SENT)
        .exclude(call_outcome__in=UNANSWERED)
        .exists()
    ):
        return
    incident.next_step_at = now
    incident.save(update_fields=["next_step_at", "updated_at"])
    event_add(incident=incident, kind="step_unanswered", message="No call reached a person: moving on now.")
    enqueue_on_commit(ADVANCE_TASK, incident.pk)


def incident_due_now(*, incident: Incident, when: datetime | None = None) -> None:
    """Make an incident's next step due (used by kicks and tests)."""
    Incident.objects.filter(pk=incident.pk).update(next_step_at=when or timezone.now())


def schedule_feed_token_rotate(*, schedule_ids: list[int]) -> int:
    """Give each schedule a new iCal feed token; the old one is refused from the next request.
    Returns how many schedules changed."""
    return sum(Schedule.objects.filter(pk=pk).update(feed_token=new_feed_token()) for pk in schedule_ids)
