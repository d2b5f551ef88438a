"""Merging a duplicate ticket into another, and linking related tickets.

What a merge does (as Zendesk, Zammad and FreeScout do it): the duplicate's messages (with
their attachments and deliveries) and calls move to the target, its tags are added to the
target's, and a contact other than the target's is named in a note on it (tickets have no
CCs); its open incident follows them when the target has none
(escalation.hooks.ticket_merged), else closing it resolves it; its contact is told once, on
its own thread; it is closed through the status transition and records `merged_into`; both
tickets' history says who merged what into what. Later replies on the duplicate's thread land
on the target (`ticket_merge_target`).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from escalation import hooks as escalation_hooks
from notifications.models import Delivery
from supporthub.actors import Actor
from supporthub.exceptions import DomainError
from telephony.models import CallLog
from tickets.models import Contact, Message, MessageDirection, Ticket, TicketChange, TicketStatus
from tickets.search import search_vector_update
from tickets.services import _TicketEdit, message_create, ticket_update

MERGE_NOTICE = (
    "Your request {source} ({subject}) duplicates {target}, so we have merged the two: we "
    "continue on {target}. Replies to this conversation still reach us."
)
MERGED_CONTACT_NOTE = (
    "{source}, merged into this ticket, came from {other}, not from this ticket's contact: "
    "replies sent here go to {contact} only. Their replies to {source} land here."
)


def _lock_pair(first: Ticket, second: Ticket) -> tuple[Ticket, Ticket]:
    """Both rows, locked in id order (two agents merging A→B and B→A at once wait for each
    other rather than deadlock), with their contacts; returned as (first, second)."""
    rows = {}
    for pk in sorted((first.pk, second.pk)):
        rows[pk] = (
            Ticket.objects.select_for_update(of=("self",)).select_related("contact", "merged_into").get(pk=pk)
        )
    return rows[first.pk], rows[second.pk]


def _merge_refusal(source: Ticket, target: Ticket) -> DomainError | None:
    """Why `source` may not be merged into `target` (both locked), or None."""
    if target.merged_into_id == source.pk:
        return DomainError(
            f"{target.reference} is already merged into {source.reference}: merging back would make a cycle.",
            field="into",
            code="merge_cycle",
        )
    if target.merged_into is not None:
        return DomainError(
            f"{target.reference} is merged into {target.merged_into.reference}: merge into that one.",
            field="into",
            code="merge_target_merged",
        )
    if target.status == TicketStatus.CLOSED:
        return DomainError(f"{target.reference} is closed and takes no more messages.", field="into")
    if source.merged_into is not None:
        return DomainError(
            f"{source.reference} is already merged into {source.merged_into.reference}.",
            field="ticket",
            code="already_merged",
        )
    if source.status == TicketStatus.CLOSED:
        return DomainError(f"{source.reference} is closed: a closed ticket cannot be merged.", field="ticket")
    return None


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: Actor) -> Ticket:
    """Merge duplicate `source` into `target`, all or nothing; returns `target`.

    Raises DomainError (nothing written) for a merge into itself, into a merged or closed
    ticket, back into a ticket merged into `source` (a cycle), or of a closed or already
    merged `source`. Merging `source` into the ticket it is already merged into changes
    nothing (a retry, a second click): its contact is told once.
    """
    if source.pk == target.pk:
        raise DomainError("A ticket cannot be merged into itself.", field="into", code="merge_into_itself")
    source, target = _lock_pair(source, target)
    if source.merged_into_id == target.pk:
        return target
    refusal = _merge_refusal(source, target)
    if refusal is not None:
        raise refusal
    moved = list(Message.objects.filter(ticket=source).values_list("pk", flat=True))
    _notify(source, target, actor)  # first: the notice threads onto the emails still on `source`
    Message.objects.filter(pk__in=moved).update(ticket=target)
    Delivery.objects.filter(message__in=moved).update(ticket=target)
    CallLog.objects.filter(ticket=source).update(ticket=target)
    # Tickets merged into `source` earlier now point at `target`: one hop, never a chain.
    Ticket.objects.filter(merged_into=source).update(merged_into=target)
    escalation_hooks.ticket_merged(source=source, target=target)
    merged = _TicketEdit(target, actor)
    merged.record(TicketChange.Field.MERGE, source.reference, target.reference)
    merged.save(message_count=F("message_count") + len(moved), **search_vector_update(target))
    _carry_over(source, target, actor)
    source = Ticket.objects.select_for_update(of=("self",)).get(pk=source.pk)  # as the notice left it
    closing = _TicketEdit(source, actor)
    closing.move_to(TicketStatus.CLOSED)
    closing.set("merged_into", target)
    closing.record(TicketChange.Field.MERGE, source.reference, target.reference)
    closing.set("message_count", Message.objects.filter(ticket=source).count())  # the notice
    closing.save(**search_vector_update(source))
    return target


def _notify(source: Ticket, target: Ticket, actor: Actor) -> None:
    """Tell `source`'s contact on its own thread, through the reply path (one outbox
    delivery); the notice stays on `source` as its one message."""
    message_create(
        ticket=source,
        direction=MessageDirection.OUTBOUND,
        body=MERGE_NOTICE.format(source=source.reference, subject=source.subject, target=target.reference),
        author_user=actor.user,
        author_label="" if actor.user else actor.name,
        actor=actor,
    )


def _carry_over(source: Ticket, target: Ticket, actor: Actor) -> None:
    """Give `target` `source`'s tags (the union, a line of its history) and, when `source`
    came from another contact, name that contact in an internal note on `target`: tickets have
    no CCs, so agents replying on `target` must know that its replies reach only its own contact.
    Raises DomainError when the union is more tags than a ticket may carry."""
    tags = list(source.tags.values_list("name", flat=True))
    if tags:
        try:
            ticket_update(ticket=target, actor=actor, add_tags=tags)
        except DomainError as exc:
            raise DomainError(
                f"{target.reference} cannot take the tags of {source.reference}: {exc.message}",
                field="into",
                code="merge_too_many_tags",
            ) from exc
    if source.contact_id != target.contact_id:
        message_create(
            ticket=target,
            direction=MessageDirection.NOTE,
            body=MERGED_CONTACT_NOTE.format(
                source=source.reference, other=_contact_label(source.contact), contact=target.contact
            ),
            author_user=actor.user,
            author_label="" if actor.user else actor.name,
            actor=actor,
        )


def _contact_label(contact: Contact) -> str:
    """`contact` with the addresses that reach them: "Dana <dana@example.com, +1415…>"."""
    addresses = ", ".join(address for address in (contact.email, contact.phone) if address)
    return f"{contact.name} <{addresses}>" if contact.name and addresses else str(contact)


def tickets_bulk_merge(*, tickets: list[Ticket], target: Ticket, actor: Actor) -> list[str]:
    """Merge each of `tickets` but `target` into `target`, each in its own transaction.
    Returns one message per ticket that could not be merged."""
    problems = []
    for ticket in tickets:
        if ticket.pk == target.pk:
            continue
        try:
            ticket_merge(source=ticket, target=target, actor=actor)
        except DomainError as exc:
            problems.append(f"{ticket.reference}: {exc.message}")
    return problems


def ticket_merge_target(ticket: Ticket) -> Ticket:
    """Where a reply naming `ticket` belongs: the ticket it was merged into, else itself."""
    return ticket.merged_into if ticket.merged_into_id and ticket.merged_into else ticket


@transaction.atomic
def ticket_link(*, ticket: Ticket, other: Ticket, actor: Actor) -> Ticket:
    """Link two related tickets (both ways), recorded in both histories; returns `ticket`.
    Linking tickets already linked changes nothing. Raises DomainError for a ticket itself."""
    if ticket.pk == other.pk:
        raise DomainError("A ticket cannot be linked to itself.", field="ticket", code="link_to_itself")
    ticket, other = _lock_pair(ticket, other)
    if not ticket.links.filter(pk=other.pk).exists():
        ticket.links.add(other)
        _record_link(ticket, other, actor, linked=True)
    return ticket


@transaction.atomic
def ticket_unlink(*, ticket: Ticket, other: Ticket, actor: Actor) -> Ticket:
    """Remove the link between two tickets, recorded in both histories; returns `ticket`.
    Tickets not linked: nothing changes."""
    ticket, other = _lock_pair(ticket, other)
    if ticket.links.filter(pk=other.pk).exists():
        ticket.links.remove(other)
        _record_link(ticket, other, actor, linked=False)
    return ticket


def _record_link(ticket: Ticket, other: Ticket, actor: Actor, *, linked: bool) -> None:
    for one, another in ((ticket, other), (other, ticket)):
        edit = _TicketEdit(one, actor)
        edit.record(
            TicketChange.Field.LINKS, "" if linked else another.reference, another.reference if linked else ""
        )
        edit.save()
