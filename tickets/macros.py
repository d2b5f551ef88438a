"""Macros: a canned reply plus field changes, applied to a ticket in one step.

Everything goes through tickets.services (the message, the status transitions, tags, the
assignment and its notice), so a macro obeys the same rules as an agent doing it by hand.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from supporthub.actors import Actor
from tickets import services
from tickets.models import Macro, MessageDirection, Ticket, TicketChange


@transaction.atomic
def macro_apply(*, ticket: Ticket, macro: Macro, agent: User, with_text: bool = True) -> Ticket:
    """Apply `macro` to `ticket` as `agent`: its text (placeholders filled) is sent, or added
    as a note, then its status, priority, assignee (`agent`, with `assign_to_applier`) and
    tags are set, and the history records the macro with each change, all by `agent`.
    Returns the ticket as saved.

    `with_text=False`: the changes only, when the text went out already (the ticket page's
    reply box, where the agent may have edited it).

    Raises DomainError when a step is refused (a status the ticket cannot move to, a closed
    ticket): then nothing at all is changed or sent.
    """
    actor = Actor.of(agent)
    assignee = agent if macro.assign_to_applier else macro.assignee if macro.assignee_id else services.KEEP
    if with_text and macro.body:
        services.message_create(
            ticket=ticket,
            direction=MessageDirection.NOTE if macro.internal else MessageDirection.OUTBOUND,
            body=macro.render(ticket=ticket, agent=agent),
            author_user=agent,
        )
    updated = services.ticket_update(
        ticket=ticket,
        actor=actor,
        status=macro.status or None,
        priority=macro.priority,
        assignee=assignee,
        add_tags=macro.tags,
    )
    TicketChange.objects.create(
        ticket=ticket,
        actor=agent,
        actor_name=actor.name,
        field=TicketChange.Field.MACRO,
        new_value=macro.name[:200],
    )
    return updated
