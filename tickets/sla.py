"""A ticket's two SLA clocks, first response and resolution: targets, due times, the pause
while pending on the customer, breaches, and how they read in the console.

Every rule about the clocks lives here. Ticket services start, pause and resume them; the
breach sweep marks each clock once; escalation only turns a breach into an incident
(`escalation.hooks.sla_breached`).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from escalation import hooks as escalation_hooks
from escalation.business_hours import (
    CalendarSpec,
    add_business_minutes,
    business_minutes_between,
    load,
)
from notifications.builders import team_notice
from supporthub import metrics
from tickets.models import SlaPolicy, Ticket, TicketStatus

logger = logging.getLogger(__name__)


class Clock(enum.Enum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def breached_field(self) -> str:
        return f"{self.value}_breached"


# --- Targets ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlaTargets:
    """One priority's SlaPolicy as the due-time arithmetic reads it."""

    first_response_minutes: int
    resolution_minutes: int
    business_calendar: CalendarSpec | None
    notify_on_breach: bool = True
    open_incident_on_breach: bool = False


SLA_TARGETS_KEY = "tickets:sla-targets:2"
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
            policy.notify_on_breach,
            policy.open_incident_on_breach,
        )
        for policy in policies
    }


# --- Due times and the pause -------------------------------------------------------------------
def add_minutes(targets: SlaTargets | None, start: datetime, minutes: float) -> datetime:
    """`start` plus `minutes` of SLA time: business minutes when the targets have a calendar."""
    calendar = targets.business_calendar if targets is not None else None
    if calendar is not None:
        due = add_business_minutes(calendar, start, minutes)
        if due is not None:
            return due
        logger.warning("business calendar has no open hours; using wall-clock minutes")
    return start + timedelta(minutes=minutes)


def due_times(*, priority: int, start: datetime) -> tuple[datetime | None, datetime | None]:
    """(first_response_due, resolution_due) for a ticket of `priority` opened at `start`."""
    targets = sla_targets(priority)
    if targets is None:
        return None, None
    return (
        add_minutes(targets, start, targets.first_response_minutes),
        add_minutes(targets, start, targets.resolution_minutes),
    )


def clocks_follow_status(ticket: Ticket, *, now: datetime) -> list[str]:
    """Pause or resume `ticket`'s resolution clock for its (new) status; the fields changed.

    Pending on the customer pauses it; leaving pending moves its due time on by the SLA time
    spent paused (business minutes when the policy has a calendar). The caller saves.
    """
    if ticket.status == TicketStatus.PENDING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        return ["sla_paused_at"]
    if ticket.status == TicketStatus.PENDING or ticket.sla_paused_at is None:
        return []
    if ticket.resolution_due is not None:
        targets = sla_targets(ticket.priority)
        calendar = targets.business_calendar if targets is not None else None
        if calendar is None:
            ticket.resolution_due += now - ticket.sla_paused_at
        else:
            paused = business_minutes_between(calendar, ticket.sla_paused_at, now)
            ticket.resolution_due = add_minutes(targets, ticket.resolution_due, paused)
    ticket.sla_paused_at = None
    return ["sla_paused_at", "resolution_due"]


# --- Breaches ----------------------------------------------------------------------------------
def _overdue(clock: Clock, now: datetime) -> Q:
    if clock is Clock.FIRST_RESPONSE:
        return Q(first_response_breached=False, first_responded_at__isnull=True, first_response_due__lte=now)
    return Q(resolution_breached=False, sla_paused_at__isnull=True, resolution_due__lte=now)


def sla_outcome(clock: Clock) -> tuple[Q, Q]:
    """(met, breached): the tickets whose `clock` was met, and those whose clock was breached,
    read as sla_clocks reads one ticket (breached: flagged, or done after its due time).
    Tickets whose clock still runs, or that have no target, match neither."""
    done = "first_responded_at" if clock is Clock.FIRST_RESPONSE else "resolved_at"
    due = F(f"{clock.value}_due")
    met = Q(**{f"{done}__lte": due, clock.breached_field: False})
    breached = Q(**{clock.breached_field: True}) | Q(**{f"{done}__gt": due})
    return met, breached


def sla_breach_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Mark every clock that ran out on an active ticket as breached, once, and act on it:
    tell the team and open an incident, as the ticket's SLA policy asks. Returns how many
    clocks were newly marked.

    Each clock is claimed with a conditional UPDATE, so concurrent sweeps act once per breach.
    """
    now = now or timezone.now()
    marked = 0
    for clock in Clock:
        overdue = Ticket.objects.active().filter(_overdue(clock, now)).order_by("id")
        for ticket in overdue.select_related("contact")[: max(0, limit - marked)]:
            if _breach(ticket, clock):
                marked += 1
    return marked


@transaction.atomic
def _breach(ticket: Ticket, clock: Clock) -> bool:
    claimed = Ticket.objects.filter(pk=ticket.pk, **{clock.breached_field: False}).update(
        **{clock.breached_field: True, "sla_breached": True}
    )
    if not claimed:
        return False
    setattr(ticket, clock.breached_field, True)
    ticket.sla_breached = True
    metrics.record_sla_breach(kind=clock.value, priority=ticket.priority)
    targets = sla_targets(ticket.priority)
    if targets is None or targets.notify_on_breach:
        text = f"[SupportHub] SLA breached ({clock.label}) on {ticket.reference}: {ticket.subject}"
        team_notice(text=text, key=f"sla-breach:{ticket.pk}:{clock.value}", ticket=ticket)
    if targets is not None and targets.open_incident_on_breach:
        escalation_hooks.sla_breached(ticket=ticket, clock=clock.label)
    return True


# --- How the clocks read in the console -------------------------------------------------------
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
    name: str,
    start: datetime,
    due: datetime | None,
    done_at: datetime | None,
    breached: bool,
    now: datetime,
) -> SlaClock:
    if due is None:
        return SlaClock(name, None, "breached" if breached else "none")
    if done_at is not None:
        return SlaClock(name, due, "breached" if breached or done_at > due else "met")
    if breached or now >= due:
        return SlaClock(name, due, "breached")
    window = max(due - start, timedelta(seconds=1))
    return SlaClock(name, due, "near" if (due - now) / window < NEAR_SHARE else "ok")


def sla_clocks(ticket: Ticket, now: datetime | None = None) -> list[SlaClock]:
    """The first-response and the resolution clock of `ticket`, as an agent reads them."""
    now = now or timezone.now()
    return [
        _clock(
            Clock.FIRST_RESPONSE.label,
            ticket.created_at,
            ticket.first_response_due,
            ticket.first_responded_at,
            ticket.first_response_breached,
            now,
        ),
        _clock(
            Clock.RESOLUTION.label,
            ticket.created_at,
            ticket.resolution_due,
            ticket.resolved_at,
            ticket.resolution_breached,
            now,
        ),
    ]


def sla_next_clock(ticket: Ticket, now: datetime | None = None) -> SlaClock:
    """The clock an agent should look at in a list: the first still running, else the last."""
    clocks = sla_clocks(ticket, now)
    running = [clock for clock in clocks if clock.state in ("ok", "near", "breached") and clock.due]
    return running[0] if running else clocks[-1]
