"""Reads for the agent console (the ticket page, the dashboard) and intake's contact lookup."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q

from telephony.models import CallLog
from tickets import sla
from tickets.filters import REFERENCE_RE
from tickets.models import (
    ACTIVE_STATUSES,
    CannedReply,
    Contact,
    Message,
    Ticket,
    TicketChange,
    TicketPriority,
)


def contact_by(unique: str, value: str) -> Contact | None:
    """The contact whose `unique` field ("email" or "phone") is `value`, or None."""
    return Contact.objects.filter(**{unique: value}).first()


def is_ticket_identifier(value: str) -> bool:
    """Whether `value` has the form of a ticket id ("1042") or reference ("SH-2042")."""
    value = value.strip()
    return (value.isascii() and value.isdigit()) or REFERENCE_RE.fullmatch(value) is not None


def ticket_by_identifier(value: str) -> Ticket | None:
    """The ticket `value` names: an id ("1042") or a reference ("SH-2042", any case); else None."""
    value = value.strip()
    if not is_ticket_identifier(value):
        return None
    if value.isdigit():
        return Ticket.objects.filter(pk=int(value)).first() if 0 < int(value) < 2**63 else None
    return Ticket.objects.filter(reference__iexact=value).first()


def ticket_console(*, ticket: Ticket, agent: User | None) -> dict[str, Any]:
    """Everything the ticket page shows beside the form."""
    thread = (
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_contact")
        .prefetch_related("deliveries", "attachments")
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
        "sla_clocks": sla.sla_clocks(ticket),
        "canned_replies": [
            (reply.title, reply.render(ticket=ticket, agent=agent)) for reply in CannedReply.objects.all()
        ],
    }


def ticket_relations(*, ticket_id: int) -> dict[str, Any]:
    """The ticket page's related tickets: those linked to it, and those merged into it."""
    shown = ("id", "reference", "subject", "status")
    return {
        "linked_tickets": list(Ticket.objects.filter(links=ticket_id).only(*shown).order_by("id")),
        "merged_tickets": list(Ticket.objects.filter(merged_into=ticket_id).only(*shown).order_by("id")),
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
