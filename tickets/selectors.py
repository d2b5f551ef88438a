"""Reads for the agent console (SLA clocks, the ticket page, the dashboard) and the SLA
targets every new ticket's due times come from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from escalation.business_hours import CalendarSpec, load
from telephony.models import CallLog
from tickets.models import (
    ACTIVE_STATUSES,
    CannedReply,
    Contact,
    Message,
    SlaPolicy,
    Ticket,
    TicketChange,
    TicketPriority,
)


def contact_by(unique: str, value: str) -> Contact | None:
    """The contact whose `unique` field ("email" or "phone") is `value`, or None."""
    return Contact.objects.filter(**{unique: value}).first()


@dataclass(frozen=True)
class SlaTargets:
    """One priority's SlaPolicy as the due-time arithmetic reads it (escalation.sla)."""

    first_response_minutes: int
    resolution_minutes: int
    business_calendar: CalendarSpec | None


logger = logging.getLogger(__name__)

SLA_TARGETS_KEY = "tickets:sla-targets"
SLA_TARGETS_TIMEOUT = 60  # seconds: the longest a policy change can go unseen (see sla_targets)


def sla_targets(priority: int) -> SlaTargets | None:
    """The SLA targets for `priority`, or None when no policy covers it.

    Every priority's targets are kept in the shared cache for SLA_TARGETS_TIMEOUT seconds,
    so creating a ticket does not query its policy. Saving or deleting a policy, a business
    calendar, its hours or a holiday deletes them (tickets.apps), at once and again on
    commit, so the next ticket gets the new targets. Only when that delete is lost (the
    cache was unreachable during the change) or a ticket read the old policy just before the
    change committed and stored it just after can tickets get the old targets, for at most
    SLA_TARGETS_TIMEOUT: a ticket then gets the due times it would have had a minute
    earlier, an admin's edit taking effect a little late. With the cache unreachable every
    ticket reads the database.
    """
    try:
        targets = cache.get(SLA_TARGETS_KEY)
    except Exception:  # a ticket must still be created without the cache
        logger.warning("shared cache unreachable: SLA targets read from the database")
        return _read_sla_targets().get(priority)
    if targets is None:
        targets = _read_sla_targets()
        try:
            cache.set(SLA_TARGETS_KEY, targets, SLA_TARGETS_TIMEOUT)
        except Exception:
            logger.warning("shared cache unreachable: SLA targets not kept")
    return targets.get(priority)


def sla_targets_invalidate() -> None:
    """Make the next ticket read the SLA targets from the database (a policy or its calendar
    changed). If the cache is unreachable the kept targets expire on their own."""
    try:
        cache.delete(SLA_TARGETS_KEY)
    except Exception:
        logger.error("shared cache unreachable: SLA targets may be %ss old", SLA_TARGETS_TIMEOUT)


def _read_sla_targets() -> dict[int, SlaTargets]:
    policies = SlaPolicy.objects.select_related("business_calendar").prefetch_related(
        "business_calendar__hours"
    )
    return {
        policy.priority: SlaTargets(
            policy.first_response_minutes,
            policy.resolution_minutes,
            load(policy.business_calendar) if policy.business_calendar else None,
        )
        for policy in policies
    }


# A clock turns amber when less than this share of its window is left.
NEAR_SHARE = 0.25


@dataclass(frozen=True)
class SlaClock:
    name: str  # "first response" or "resolution"
    due: datetime | None
    state: str  # met | ok | near | breached | none

    @property
    def css(self) -> str:
        return f"sla-{self.state}"


def _clock(
    name: str, start: datetime, due: datetime | None, done_at: datetime | None, now: datetime
) -> SlaClock:
    if due is None:
        return SlaClock(name, None, "none")
    if done_at is not None:
        return SlaClock(name, due, "met" if done_at <= due else "breached")
    if now >= due:
        return SlaClock(name, due, "breached")
    window = max(due - start, timedelta(seconds=1))
    return SlaClock(name, due, "near" if (due - now) / window < NEAR_SHARE else "ok")


def sla_clocks(ticket: Ticket, now: datetime | None = None) -> list[SlaClock]:
    now = now or timezone.now()
    return [
        _clock(
            "first response", ticket.created_at, ticket.first_response_due, ticket.first_responded_at, now
        ),
        _clock("resolution", ticket.created_at, ticket.resolution_due, ticket.resolved_at, now),
    ]


def sla_next_clock(ticket: Ticket, now: datetime | None = None) -> SlaClock:
    """The clock an agent should look at in a list: the first still running, else the last."""
    clocks = sla_clocks(ticket, now)
    running = [clock for clock in clocks if clock.state in ("ok", "near", "breached") and clock.due]
    if ticket.sla_breached and not running:
        return SlaClock("resolution", ticket.resolution_due, "breached")
    return running[0] if running else clocks[-1]


def ticket_console(*, ticket: Ticket, agent: User | None) -> dict[str, Any]:
    """Everything the ticket page shows beside the form."""
    from tickets.services import canned_reply_render

    thread = (
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_contact")
        .prefetch_related("deliveries")
    )
    other_tickets = (
        Ticket.objects.filter(contact=ticket.contact_id).exclude(pk=ticket.pk).order_by("-created_at")[:10]
    )
    return {
        "incidents": list(ticket.incidents.order_by("-created_at")[:5]),
        "calls": list(CallLog.objects.filter(ticket=ticket, parent__isnull=True)[:10]),
        "thread": list(thread),
        "history": list(TicketChange.objects.filter(ticket=ticket).select_related("actor")),
        "other_tickets": list(other_tickets),
        "sla_clocks": sla_clocks(ticket),
        "canned_replies": [
            (reply.title, canned_reply_render(reply=reply, ticket=ticket, agent=agent))
            for reply in CannedReply.objects.all()
        ],
    }


def console_summary() -> dict[str, Any]:
    """Counts for the dashboard: active tickets by status and priority, SLA breaches."""
    active = Ticket.objects.filter(status__in=ACTIVE_STATUSES)
    by_status = dict(active.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_priority = dict(active.values_list("priority").annotate(n=Count("id")).values_list("priority", "n"))
    return {
        "by_status": [(status, by_status.get(status, 0)) for status in ACTIVE_STATUSES],
        "by_priority": [(p.label, by_priority.get(p.value, 0)) for p in reversed(TicketPriority)],
        "breached": active.filter(sla_breached=True).count(),
        "unassigned_urgent": active.filter(
            Q(assignee__isnull=True) & Q(priority=TicketPriority.URGENT)
        ).count(),
    }
