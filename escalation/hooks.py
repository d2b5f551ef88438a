"""What ticket changes mean for escalation: the incidents tickets open and close.

Called by the ticket services and the SLA breach sweep (tickets.sla), one call per event.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from escalation.models import Incident, TriggerReason
from escalation.services import event_add, incident_resolve, incident_trigger
from tickets.models import Ticket, TicketPriority


def ticket_created(*, ticket: Ticket) -> None:
    """An urgent ticket opens an incident when a policy has urgent-ticket incidents on."""
    if ticket.priority == TicketPriority.URGENT:
        incident_trigger(ticket=ticket, reason=TriggerReason.URGENT_TICKET)


def ticket_priority_changed(*, ticket: Ticket) -> None:
    """A ticket raised to urgent opens an incident, as a new urgent ticket does."""
    ticket_created(ticket=ticket)


def ticket_status_changed(*, ticket: Ticket) -> None:
    """A ticket resolved or closed resolves its open incident."""
    if not ticket.is_done:
        return
    for incident in Incident.objects.open().filter(ticket=ticket):
        resolved = incident_resolve(incident=incident, via="ticket")
        event_add(
            incident=resolved,
            kind="note",
            message=f"Ticket {ticket.reference} was {ticket.status}.",
            via="ticket",
        )


def ticket_merged(*, source: Ticket, target: Ticket) -> None:
    """A ticket merged into another (both rows locked): its open incident moves to `target`
    when that has none, so a merge never silences a page for work still to do; when `target`
    has its own, that one pages for both and closing `source` resolves the other
    (ticket_status_changed)."""
    incident = Incident.objects.open().filter(ticket=source).select_for_update().first()
    if incident is None or Incident.objects.open().filter(ticket=target).exists():
        return
    try:
        with transaction.atomic():  # the breach sweep may open one on `target` this instant
            Incident.objects.filter(pk=incident.pk).update(ticket=target)
    except IntegrityError:
        return
    event_add(
        incident=incident,
        kind="note",
        message=f"Ticket {source.reference} was merged into {target.reference}; the incident moved with it.",
        via="ticket",
    )


def sla_breached(*, ticket: Ticket, clock: str) -> None:
    """A breach whose SLA policy asks for it opens an incident on the SLA-breach policy."""
    incident_trigger(
        ticket=ticket,
        reason=TriggerReason.SLA_BREACH,
        title=f"SLA breached ({clock}): {ticket.reference} {ticket.subject}",
    )
