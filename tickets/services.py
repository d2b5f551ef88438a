"""The verbs that change tickets: intake, create, update, add a message.

Views, admin actions, webhooks and tasks call these; none of them reimplements a rule.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from escalation import hooks as escalation_hooks
from supporthub.exceptions import DomainError
from supporthub.metrics import record_ticket_created
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
from tickets.selectors import contact_by, sla_targets

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
    *, name: str, email: str | None = None, phone: str | None = None
) -> tuple[Contact | None, list[str]]:
    """(the contact with this email, else this phone, or None; the fields it lacks that
    `name`, `email` and `phone` fill in, set on it but not saved).

    `email` must be valid and `phone` already E.164 (serializers normalise both).
    """
    email, phone = _contact_keys(email, phone)
    contact = None
    if email:
        contact = contact_by("email", email)
    if contact is None and phone:
        contact = contact_by("phone", phone)
    if contact is None:
        return None, []
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
    return contact, changed


def contact_resolve(*, name: str, email: str | None = None, phone: str | None = None) -> Contact:
    """Find the contact by email, then by phone, or create one; fill in what it lacks."""
    contact, changed = contact_find(name=name, email=email, phone=phone)
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


@transaction.atomic(savepoint=False)  # nothing inside is caught and retried
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
) -> Ticket:
    """Create a ticket and, when there is a description, its first inbound message (with
    the provider's `external_id`; kept on the returned ticket as `first_message`).

    `notify`: with the notifications a new ticket causes (the team's, and the requester's
    acknowledgement unless `acknowledge` is False), kept on the returned ticket as
    `deliveries_created` and sent once the transaction commits.
    """
    now = timezone.now()
    first_response_due, resolution_due = sla_due_times(priority=priority, start=now)
    ticket = Ticket.objects.create(
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
    # The reference derives from the id, which the INSERT gives.
    ticket.reference = f"{settings.TICKET_REFERENCE_PREFIX}-{1000 + ticket.pk}"
    Ticket.objects.filter(pk=ticket.pk).update(reference=ticket.reference)
    if description:
        ticket.first_message = Message.objects.create(
            ticket=ticket,
            direction=MessageDirection.INBOUND,
            channel=MESSAGE_CHANNEL_FOR_TICKET[TicketChannel(channel)],
            body=description,
            author_contact=contact,
            external_id=external_id,
        )
    if notify:
        from notifications.services import deliveries_save, ticket_created_deliveries

        deliveries = ticket_created_deliveries(ticket, acknowledge=acknowledge)
        ticket.deliveries_created = deliveries_save(deliveries)
    record_ticket_created(channel=channel, priority=priority)  # metrics (counted on commit)
    if assignee is None and settings.AUTO_ASSIGN_ENABLED:
        ticket_auto_assign(ticket=ticket)
    escalation_hooks.ticket_created(ticket=ticket)  # urgent → incident
    return ticket


@transaction.atomic
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
    or nothing."""
    contact = contact_resolve(name=name, email=email, phone=phone)
    ticket = ticket_create(
        contact=contact,
        subject=subject,
        description=message,
        channel=channel,
        priority=priority,
        notify=True,
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
    # Locked until the transaction ends, with its contact (a reply goes to it).
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("contact").get(pk=ticket.pk)
    if ticket.status == TicketStatus.CLOSED:
        raise DomainError(f"Ticket {ticket.reference} is closed and takes no more messages.", field="ticket")
    if direction == MessageDirection.NOTE:
        channel = MessageChannel.INTERNAL
    message = Message.objects.create(
        ticket=ticket,
        direction=direction,
        channel=channel or MESSAGE_CHANNEL_FOR_TICKET[TicketChannel(ticket.channel)],
        body=body,
        author_user=author_user,
        author_contact=author_contact,
        external_id=external_id,
    )
    if direction == MessageDirection.OUTBOUND and external_id is None:
        from notifications.services import deliveries_save, reply_deliveries  # (imports tickets)

        # an agent's reply goes to the contact via the ticket's channel; an email's
        # Message-ID (named by reply_deliveries) is the message's external_id.
        deliveries = reply_deliveries(message)
        if message.external_id is not None:
            Message.objects.filter(pk=message.pk).update(external_id=message.external_id)
        deliveries_save(deliveries)
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
