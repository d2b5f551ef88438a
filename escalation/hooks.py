"""What ticket changes mean for escalation: the incidents tickets open and close.

Called by the ticket services and the SLA breach sweep (tickets.sla), one call per event.
"""

from __future__ import annotations

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


def sla_breached(*, ticket: Ticket, clock: str) -> None:
    """A breach whose SLA policy asks for it opens an incident on the SLA-breach policy."""
    incident_trigger(
        ticket=ticket,
        reason=TriggerReason.SLA_BREACH,
        title=f"SLA breached ({clock}): {ticket.reference} {ticket.subject}",
    )
