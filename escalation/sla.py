"""SLA clocks on business hours: due times, the pending pause, and the breach sweep."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from escalation import business_hours, paging
from escalation.models import TriggerReason
from escalation.services import incident_trigger
from supporthub import metrics  # SLA breach counter

logger = logging.getLogger(__name__)


def add_minutes(*, policy: Any, start: datetime, minutes: int) -> datetime:
    """`start` plus `minutes` of SLA time: business minutes when the policy has a calendar."""
    calendar = getattr(policy, "business_calendar", None)
    if calendar is not None:
        due = business_hours.add_business_minutes(calendar, start, minutes)
        if due is not None:
            return due
        logger.warning("business calendar %s has no open hours; using wall-clock minutes", calendar)
    return start + timedelta(minutes=minutes)


def _policy(priority: int) -> Any:
    from tickets.models import SlaPolicy

    return SlaPolicy.objects.filter(priority=priority).select_related("business_calendar").first()


@transaction.atomic
def sla_pause_update(*, ticket: Any) -> None:
    """Pending on the customer pauses the resolution clock; leaving pending moves the due time on."""
    from tickets.models import Ticket, TicketStatus

    now = timezone.now()
    if ticket.status == TicketStatus.PENDING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=now)
    elif ticket.status != TicketStatus.PENDING and ticket.sla_paused_at is not None:
        if ticket.resolution_due is not None:
            policy = _policy(ticket.priority)
            calendar = getattr(policy, "business_calendar", None)
            if calendar is not None:
                paused = business_hours.business_minutes_between(calendar, ticket.sla_paused_at, now)
                ticket.resolution_due = business_hours.add_business_minutes(
                    calendar, ticket.resolution_due, paused
                ) or ticket.resolution_due + (now - ticket.sla_paused_at)
            else:
                ticket.resolution_due = ticket.resolution_due + (now - ticket.sla_paused_at)
        ticket.sla_paused_at = None
        Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=None, resolution_due=ticket.resolution_due)


def sla_breach_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Mark tickets whose SLA ran out as breached, tell the team, open incidents if configured.

    Each ticket is claimed with a conditional UPDATE, so concurrent sweeps act once per breach.
    Returns the number of tickets newly marked.
    """
    from tickets.models import SlaPolicy, Ticket

    now = now or timezone.now()
    overdue = (
        Ticket.objects.active()
        .filter(sla_breached=False)
        .filter(
            Q(first_responded_at__isnull=True, first_response_due__lte=now)
            | Q(resolution_due__lte=now, sla_paused_at__isnull=True)
        )
    )
    policies = {p.priority: p for p in SlaPolicy.objects.all()}
    marked = 0
    for ticket in overdue.order_by("id")[:limit]:
        with transaction.atomic():
            if not Ticket.objects.filter(pk=ticket.pk, sla_breached=False).update(sla_breached=True):
                continue
            marked += 1
            which = (
                "first response"
                if ticket.first_responded_at is None
                and ticket.first_response_due
                and ticket.first_response_due <= now
                else "resolution"
            )
            metrics.record_sla_breach(kind=which.replace(" ", "_"), priority=ticket.priority)
            policy = policies.get(ticket.priority)
            text = f"[SupportHub] SLA breached ({which}) on {ticket.reference}: {ticket.subject}"
            if policy is None or policy.notify_on_breach:
                paging.notify_team(text=text, key=f"sla-breach:{ticket.pk}", ticket=ticket)
            if policy is not None and policy.open_incident_on_breach:
                incident_trigger(
                    ticket=ticket,
                    reason=TriggerReason.SLA_BREACH,
                    title=f"SLA breached: {ticket.reference} {ticket.subject}",
                )
    return marked
