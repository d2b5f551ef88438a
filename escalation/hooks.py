"""What tickets.services calls on ticket changes: urgent-ticket incidents and the SLA pause clock.

Kept to one call per ticket service so that the ticket code stays readable.
"""

from __future__ import annotations

import logging
from typing import Any

from escalation import sla
from escalation.models import Incident, TriggerReason
from escalation.services import event_add, incident_resolve, incident_trigger

logger = logging.getLogger(__name__)
URGENT = 4  # tickets.models.TicketPriority.URGENT (imported lazily elsewhere to avoid cycles)
DONE = ("resolved", "closed")  # tickets.models.TicketStatus values that end the ticket


def ticket_created(*, ticket: Any) -> None:
    """An urgent ticket opens an incident when a policy has urgent-ticket incidents on."""
    if ticket.priority == URGENT:
        incident_trigger(ticket=ticket, reason=TriggerReason.URGENT_TICKET)


def ticket_updated(*, ticket: Any, changed: list[str]) -> None:
    """Raised to urgent → incident; into/out of pending → pause/resume the resolution clock;
    ticket resolved or closed → its open incident is resolved too."""
    if "status" in changed:
        sla.sla_pause_update(ticket=ticket)
        if ticket.status in DONE:
            for incident in Incident.objects.open().filter(ticket=ticket):
                resolved = incident_resolve(incident=incident, via="ticket")
                event_add(
                    incident=resolved,
                    kind="note",
                    message=f"Ticket {ticket.reference} was {ticket.status}.",
                    via="ticket",
                )
    if "priority" in changed and ticket.priority == URGENT:
        incident_trigger(ticket=ticket, reason=TriggerReason.URGENT_TICKET)
