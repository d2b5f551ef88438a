"""What tickets.services calls on ticket changes: urgent-ticket incidents and the SLA pause clock.

Kept to one call per ticket service so that the ticket code stays readable.
"""

from __future__ import annotations

import logging
from typing import Any

from escalation import sla
from escalation.models import TriggerReason
from escalation.services import incident_trigger

logger = logging.getLogger(__name__)
URGENT = 4  # tickets.models.TicketPriority.URGENT (imported lazily elsewhere to avoid cycles)


def ticket_created(*, ticket: Any) -> None:
    """An urgent ticket opens an incident when a policy has urgent-ticket incidents on."""
    if ticket.priority == URGENT:
        incident_trigger(ticket=ticket, reason=TriggerReason.URGENT_TICKET)


def ticket_updated(*, ticket: Any, changed: list[str]) -> None:
    """Raised to urgent → incident; into/out of pending → pause/resume the resolution clock."""
    if "status" in changed:
        sla.sla_pause_update(ticket=ticket)
    if "priority" in changed and ticket.priority == URGENT:
        incident_trigger(ticket=ticket, reason=TriggerReason.URGENT_TICKET)
