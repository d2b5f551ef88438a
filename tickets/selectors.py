"""Reads for the agent console (the ticket page, the dashboard) and intake's contact lookup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q

from telephony.models import CallLog
from tickets import sla
from tickets.models import (
    ACTIVE_STATUSES,
    CannedReply,
    Contact,
    Macro,
    Message,
    MessageChannel,
    Ticket,
    TicketChange,
    TicketPriority,
)
from tickets.search import REFERENCE_RE


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


TIMELINE_LENGTH = 15


@dataclass(frozen=True)
class TimelineEntry:
    """One thing in a contact's history: a ticket, a call or a text ("ticket", "call", "sms")."""

    kind: str
    at: datetime
    item: Ticket | CallLog | Message


def customer_timeline(*, ticket: Ticket, limit: int = TIMELINE_LENGTH) -> list[TimelineEntry]:
    """The contact's other tickets, their calls and their texts (on any of their tickets,
    this one's included), newest first, at most `limit`: three queries whatever their number."""
    contact = ticket.contact
    tickets = Ticket.objects.filter(contact=contact).exclude(pk=ticket.pk).order_by("-created_at")
    from_them = Q(ticket__contact=contact) | (Q(from_number=contact.phone) if contact.phone else Q())
    calls = (
        CallLog.objects.filter(from_them, parent__isnull=True)
        .select_related("ticket")
        .order_by("-created_at")
    )
    texts = (
        Message.objects.filter(ticket__contact=contact, channel=MessageChannel.SMS)
        .select_related("ticket")
        .order_by("-created_at")
    )
    entries = [
        *(TimelineEntry("ticket", other.created_at, other) for other in tickets[:limit]),
        *(TimelineEntry("call", call.created_at, call) for call in calls[:limit]),
        *(TimelineEntry("sms", text.created_at, text) for text in texts[:limit]),
    ]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]


def ticket_console(*, ticket: Ticket, agent: User | None) -> dict[str, Any]:
    """Everything the ticket page shows beside the form."""
    thread = (
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_contact")
        .prefetch_related("deliveries", "attachments")
    )
    canned = [(reply, reply.render(ticket=ticket, agent=agent)) for reply in CannedReply.objects.all()]
    macros = list(Macro.objects.select_related("assignee"))
    return {
        "incidents": list(ticket.incidents.order_by("-created_at")[:5]),
        "thread": list(thread),
        "history": list(TicketChange.objects.filter(ticket=ticket).select_related("actor")),
        "timeline": customer_timeline(ticket=ticket),
        "sla_clocks": sla.sla_clocks(ticket),
        "canned_replies": [(reply.title, text) for reply, text in canned],
        "macros": macros,
        # What typing ::shortcut in the reply box inserts (console.js); a macro's changes
        # are then applied when the reply is sent.
        "shortcuts": {
            **{reply.shortcut: {"text": text} for reply, text in canned if reply.shortcut},
            **{
                macro.shortcut: {
                    "text": macro.render(ticket=ticket, agent=agent),
                    "macro": macro.pk,
                    "name": macro.name,
                    "summary": macro.summary,
                    "internal": macro.internal,
                }
                for macro in macros
                if macro.shortcut
            },
        },
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
