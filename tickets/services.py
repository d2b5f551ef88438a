"""The verbs that change tickets: intake, create, update, add a message.

Views, admin actions, webhooks and tasks call these; none of them reimplements a rule.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
from django.utils import timezone

from escalation import hooks as escalation_hooks
from supporthub.db import NextId, next_ids
from supporthub.exceptions import DomainError
from supporthub.metrics import record_ticket_created
from supporthub.rows import rows_insert
from tickets.models import (
    AgentShift,
    CannedReply,
    Contact,
    Message,
    MessageChannel,
    MessageDirection,
    Ticket,
    TicketChange,
    TicketChannel,
    TicketPriority,
    TicketStatus,
)
from tickets.selectors import contact_and_ids_by, sla_targets

if TYPE_CHECKING:
    from notifications.models import Delivery

logger = logging.getLogger(__name__)

# Ticket channel → channel of the messages exchanged on it.
MESSAGE_CHANNEL_FOR_TICKET = {
    TicketChannel.EMAIL: MessageChannel.EMAIL,
    TicketChannel.CHAT: MessageChannel.CHAT,
    TicketChannel.PHONE: MessageChannel.PHONE,
    TicketChannel.WEB: MessageChannel.WEB,
    TicketChannel.API: MessageChannel.API,
}


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # "leave this field as it is", where None means "clear it"


@dataclass
class IntakeResult:
    ticket: Ticket
    deliveries: list[Any] = field(default_factory=list)


def contact_find(
    *, name: str, email: str | None = None, phone: str | None = None, reserve: tuple[type[Model], ...] = ()
) -> tuple[Contact | None, list[str], list[int] | None]:
    """(the contact with this email, else this phone, or None; the fields it lacks that
    `name`, `email` and `phone` fill in, set on it but not saved; the next id of each model
    in `reserve`, taken by the lookup that found the contact on PostgreSQL, else None).

    `email` must be valid and `phone` already E.164 (serializers normalise both).
    """
    email, phone = _contact_keys(email, phone)
    contact = ids = None
    if email:
        contact, ids = contact_and_ids_by("email", email, *reserve)
    if contact is None and phone:
        contact, ids = contact_and_ids_by("phone", phone, *reserve)
    if contact is None:
        return None, [], None
    changed = []
    if name and not contact.name:
        contact.name = name
        changed.append("name")
    if email and not contact.email:
        contact.email = email
        changed.append("email")
    if phone and not contact.phone and not Contact.objects.filter(phone=phone).exists():
        contact.phone = phone
        changed.append("phone")
    return contact, changed, ids


def contact_resolve(*, name: str, email: str | None = None, phone: str | None = None) -> Contact:
    """Find the contact by email, then by phone, or create one; fill in what it lacks."""
    contact, changed, _ = contact_find(name=name, email=email, phone=phone)
    if contact is None:
        email, phone = _contact_keys(email, phone)
        try:
            with transaction.atomic():
                return Contact.objects.create(name=name or email or phone or "", email=email, phone=phone)
        except IntegrityError:
            # Another request created the same contact a moment ago.
            return contact_resolve(name=name, email=email, phone=phone)
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


def _contact_keys(email: str | None, phone: str | None) -> tuple[str | None, str | None]:
    email = email.strip().lower() if email and email.strip() else None
    phone = phone or None  # "" would collide with every other blank phone on the unique index
    return email, phone


def sla_due_times(*, priority: int, start: datetime) -> tuple[datetime | None, datetime | None]:
    """(first_response_due, resolution_due) for a ticket of `priority` opened at `start`."""
    targets = sla_targets(priority)
    if targets is None:
        return None, None
    # Business-hours SLA clocks.
    from escalation.sla import add_minutes

    return (
        add_minutes(policy=targets, start=start, minutes=targets.first_response_minutes),
        add_minutes(policy=targets, start=start, minutes=targets.resolution_minutes),
    )


def ticket_create(
    *,
    contact: Contact,
    subject: str,
    channel: str,
    description: str = "",
    priority: int = TicketPriority.NORMAL,
    assignee: User | None = None,
    external_id: str | None = None,
    notify: bool = False,
    acknowledge: bool = True,
    ids: list[int] | None = None,
) -> Ticket:
    """Create a ticket and, when there is a description, its first inbound message (with
    the provider's `external_id`; kept on the returned ticket as `first_message`).

    `notify`: with the notifications a new ticket causes (the team's, and the requester's
    acknowledgement unless `acknowledge` is False), kept on the returned ticket as
    `deliveries_created` and sent once the transaction commits.

    The ticket, its first message and the notifications are written by one INSERT statement
    (supporthub.rows): their ids are taken from the sequences first, so the reference is in
    the ticket's row and the message and deliveries can refer to it. A transaction is opened
    only when more is written (see ticket_create_is_one_statement); one statement is atomic.
    `ids`: the ticket's and its first message's ids, when the caller reserved them already
    (next_ids(Ticket, Message), or with the requester's lookup: contact_find).
    """
    one_statement = ticket_create_is_one_statement(priority=priority, assignee=assignee)
    # nothing inside is caught and retried: no savepoint needed
    with contextlib.nullcontext() if one_statement else transaction.atomic(savepoint=False):
        now = timezone.now()
        first_response_due, resolution_due = sla_due_times(priority=priority, start=now)
        ticket = Ticket(
            subject=subject,
            description=description,
            channel=channel,
            priority=priority,
            contact=contact,
            assignee=assignee,
            created_at=now,
            first_response_due=first_response_due,
            resolution_due=resolution_due,
            message_count=1 if description else 0,
        )
        if ids is None:
            ids = next_ids(Ticket, Message) if description else next_ids(Ticket)
        if ids is None:  # no sequences to ask (SQLite): the id comes with the INSERT
            ticket.save(force_insert=True)
            ticket.reference = _reference(ticket.pk)
            Ticket.objects.filter(pk=ticket.pk).update(reference=ticket.reference)
        else:
            ticket.pk, ticket.reference = ids[0], _reference(ids[0])
        if description:
            ticket.first_message = Message(
                pk=ids[1] if ids else None,
                ticket=ticket,
                direction=MessageDirection.INBOUND,
                channel=MESSAGE_CHANNEL_FOR_TICKET[TicketChannel(channel)],
                body=description,
                author_contact=contact,
                external_id=external_id,
            )
        if notify:
            from notifications.services import ticket_created_deliveries

            ticket.deliveries_created = ticket_created_deliveries(ticket, acknowledge=acknowledge)
        rows: list[Model] = [ticket] if ticket._state.adding else []
        rows += [ticket.first_message] if ticket.first_message else []
        rows_insert(*rows, *ticket.deliveries_created)
        record_ticket_created(channel=channel, priority=priority)  # metrics (counted on commit)
        if notify:
            from notifications.services import deliveries_queue

            deliveries_queue(ticket.deliveries_created)
        if assignee is None and settings.AUTO_ASSIGN_ENABLED:
            ticket_auto_assign(ticket=ticket)
        escalation_hooks.ticket_created(ticket=ticket)  # urgent → incident
        return ticket


def ticket_create_is_one_statement(*, priority: int, assignee: User | None = None) -> bool:
    """Whether ticket_create writes one INSERT statement and nothing else: on PostgreSQL
    (ids from the sequences), with no auto-assignment and nothing the escalation app writes
    for a new ticket of `priority`."""
    return (
        connection.vendor == "postgresql"
        and not (assignee is None and settings.AUTO_ASSIGN_ENABLED)
        and not escalation_hooks.ticket_created_writes(priority=priority)
    )


def _reference(ticket_id: int) -> str:
    return f"{settings.TICKET_REFERENCE_PREFIX}-{1000 + ticket_id}"


def support_request_submit(
    *,
    channel: str,
    name: str,
    subject: str,
    message: str,
    email: str | None = None,
    phone: str | None = None,
    priority: int = TicketPriority.NORMAL,
) -> IntakeResult:
    """Turn a customer's request into contact + ticket + first message + notifications, all
    or nothing.

    A known requester whose contact lacks nothing, on a ticket whose creation is one
    statement (ticket_create_is_one_statement), needs no transaction around that statement:
    BEGIN and COMMIT were two round trips of every intake (perf, issue 8). Anything else
    runs in one transaction.
    """
    # The new ticket's ids come with the requester's row: one round trip fewer.
    contact, changed, ids = contact_find(name=name, email=email, phone=phone, reserve=(Ticket, Message))
    one_statement = contact is not None and not changed and ticket_create_is_one_statement(priority=priority)
    with contextlib.nullcontext() if one_statement else transaction.atomic():
        if contact is None:  # a new requester (contact_resolve handles a concurrent twin)
            contact = contact_resolve(name=name, email=email, phone=phone)
        elif changed:  # contact_find filled them in; no second lookup
            contact.save(update_fields=[*changed, "updated_at"])
        ticket = ticket_create(
            contact=contact,
            subject=subject,
            description=message,
            channel=channel,
            priority=priority,
            notify=True,
            ids=ids,
        )
    logger.info("ticket %s created from %s request", ticket.reference, channel)
    return IntakeResult(ticket=ticket, deliveries=list(ticket.deliveries_created))


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    status: str | None = None,
    priority: int | None = None,
    assignee: User | Literal[_Keep.KEEP] | None = KEEP,
    subject: str | None = None,
    actor: User | None = None,
) -> Ticket:
    """Apply an agent's changes and record each one in the ticket's history.

    Raises DomainError for an illegal status change (and changes nothing).
    `assignee=None` unassigns; leaving it out keeps the assignee.
    """
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=ticket.pk)
    changed: list[str] = []
    history: list[TicketChange] = []

    def record(field: str, old: Any, new: Any) -> None:
        history.append(
            TicketChange(
                ticket=ticket, actor=actor, field=field, old_value=str(old or ""), new_value=str(new or "")
            )
        )

    if status is not None and status != ticket.status:
        record(TicketChange.Field.STATUS, ticket.status, status)
        _apply_status(ticket, status)
        changed += ["status", "resolved_at"]
    if priority is not None and priority != ticket.priority:
        record(
            TicketChange.Field.PRIORITY, TicketPriority(ticket.priority).label, TicketPriority(priority).label
        )
        ticket.priority = priority
        ticket.first_response_due, ticket.resolution_due = sla_due_times(
            priority=priority, start=ticket.created_at
        )
        changed += ["priority", "first_response_due", "resolution_due"]
    if assignee is not KEEP and getattr(assignee, "pk", None) != ticket.assignee_id:
        record(TicketChange.Field.ASSIGNEE, ticket.assignee, assignee)
        ticket.assignee = assignee
        changed.append("assignee")
    if subject is not None and subject != ticket.subject:
        record(TicketChange.Field.SUBJECT, ticket.subject, subject)
        ticket.subject = subject
        changed.append("subject")
    if changed:
        ticket.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
        TicketChange.objects.bulk_create(history)
        escalation_hooks.ticket_updated(ticket=ticket, changed=changed)
    return ticket


def tickets_bulk_update(*, tickets: list[Ticket], actor: User | None, **changes: Any) -> list[str]:
    """Apply the same change to many tickets, each in its own transaction.

    Returns one message per ticket that could not be changed (e.g. an illegal status).
    """
    problems = []
    for ticket in tickets:
        try:
            ticket_update(ticket=ticket, actor=actor, **changes)
        except DomainError as exc:
            problems.append(f"{ticket.reference}: {exc.message}")
    return problems


@transaction.atomic
def ticket_auto_assign(*, ticket: Ticket) -> User | None:
    """Give the ticket to the on-shift agent who has waited longest for one (round-robin).

    Returns the agent, or None when nobody is on shift.
    """
    shift = (
        AgentShift.objects.select_for_update(skip_locked=True)
        .filter(on_shift=True, user__is_active=True, user__is_staff=True)
        .order_by(F("last_assigned_at").asc(nulls_first=True), "pk")
        .select_related("user")
        .first()
    )
    if shift is None:
        return None
    shift.last_assigned_at = timezone.now()
    shift.save(update_fields=["last_assigned_at"])
    updated = ticket_update(ticket=ticket, assignee=shift.user)
    ticket.assignee, ticket.updated_at = updated.assignee, updated.updated_at
    return shift.user


def agent_shift_set(*, user: User, on_shift: bool) -> AgentShift:
    shift, _ = AgentShift.objects.update_or_create(user=user, defaults={"on_shift": on_shift})
    return shift


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # unknown placeholders stay visible rather than vanish


def canned_reply_render(*, reply: CannedReply, ticket: Ticket, agent: User | None = None) -> str:
    """The reply's text with {contact_name}, {reference}, {subject} and {agent_name} filled in."""
    values = _Placeholders(
        contact_name=ticket.contact.name,
        reference=ticket.reference or "",
        subject=ticket.subject,
        agent_name=(agent.get_full_name() or agent.get_username()) if agent else "",
    )
    try:
        return reply.body.format_map(values)
    except (ValueError, IndexError):  # a stray brace in the saved text: show it as written
        return reply.body


def _apply_status(ticket: Ticket, status: str) -> None:
    if not ticket.can_transition_to(status):
        raise DomainError(
            f"Cannot change status from {ticket.status} to {status}.",
            field="status",
            code="invalid_transition",
        )
    ticket.status = status
    if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        ticket.resolved_at = ticket.resolved_at or timezone.now()
    else:
        ticket.resolved_at = None


@transaction.atomic
def message_create(
    *,
    ticket: Ticket,
    direction: str,
    body: str,
    channel: str | None = None,
    author_user: User | None = None,
    author_contact: Contact | None = None,
    external_id: str | None = None,
) -> Message:
    """Add a message to a ticket and move the ticket along.

    An agent's first outbound message stops the first-response clock and opens a new
    ticket; a customer's message reopens a pending or resolved one. Closed tickets take
    no more messages (DomainError).
    """
    ticket, message_id = _ticket_locked_for_message(ticket.pk)
    if ticket.status == TicketStatus.CLOSED:
        raise DomainError(f"Ticket {ticket.reference} is closed and takes no more messages.", field="ticket")
    return _message_add(
        ticket=ticket,
        direction=direction,
        body=body,
        channel=channel,
        author_user=author_user,
        author_contact=author_contact,
        external_id=external_id,
        message_id=message_id,
    )


def _ticket_locked_for_message(pk: int) -> tuple[Ticket, int | None]:
    """The ticket's row, locked until the transaction ends, with its contact (a reply goes
    to it), and on PostgreSQL the id of the message about to be added, reserved by the same
    query: the message and the notification that sends it are then one INSERT statement
    (supporthub.rows). A reply was twelve statements, ten of them under the ticket's row
    lock (perf, issue 8)."""
    tickets = Ticket.objects.select_for_update(of=("self",)).select_related("contact")
    if connection.vendor != "postgresql":
        return tickets.get(pk=pk), None
    ticket = tickets.annotate(reserved_message_id=NextId(Message)).get(pk=pk)
    return ticket, ticket.reserved_message_id


def _message_add(
    *,
    ticket: Ticket,
    direction: str,
    body: str,
    channel: str | None = None,
    author_user: User | None = None,
    author_contact: Contact | None = None,
    external_id: str | None = None,
    message_id: int | None = None,
) -> Message:
    """message_create's work on a ticket row this transaction holds (locked or just created).

    `message_id`: the new message's id, when the caller reserved it (PostgreSQL).
    """
    if direction == MessageDirection.NOTE:
        channel = MessageChannel.INTERNAL
    message = Message(
        pk=message_id,
        ticket=ticket,
        direction=direction,
        channel=channel or MESSAGE_CHANNEL_FOR_TICKET[TicketChannel(ticket.channel)],
        body=body,
        author_user=author_user,
        author_contact=author_contact,
        external_id=external_id,
    )
    from notifications.services import deliveries_queue, reply_deliveries  # (imports tickets)

    deliveries: list[Delivery] = []
    if direction == MessageDirection.OUTBOUND and external_id is None:
        # an agent's reply goes to the contact via the ticket's channel, written with it.
        if message.pk is None:  # no id reserved (SQLite): the reply's rows refer to it
            message.save(force_insert=True)
        deliveries = reply_deliveries(message)  # an email's Message-ID is the message's external_id
        if not message._state.adding and message.external_id is not None:
            message.save(update_fields=["external_id"])
    rows_insert(*([message] if message._state.adding else []), *deliveries)
    deliveries_queue(deliveries)  # nothing to queue for other messages
    updates: dict[str, Any] = {"message_count": F("message_count") + 1, "updated_at": timezone.now()}
    if direction == MessageDirection.OUTBOUND:
        if ticket.first_responded_at is None:
            updates["first_responded_at"] = message.created_at
        if ticket.status == TicketStatus.NEW:
            updates["status"] = TicketStatus.OPEN
    elif direction == MessageDirection.INBOUND and ticket.status in (
        TicketStatus.PENDING,
        TicketStatus.RESOLVED,
    ):
        updates["status"] = TicketStatus.OPEN
        updates["resolved_at"] = None
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    return message
