"""The verbs that change tickets: intake, create, update, add a message.

Views, admin actions, webhooks and tasks call these; none of them reimplements a rule.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from escalation import hooks as escalation_hooks
from notifications import builders, outbox
from supporthub.actors import SYSTEM, Actor
from supporthub.exceptions import DomainError
from supporthub.metrics import record_ticket_created
from tickets import attachments as attachment_files
from tickets import sla
from tickets.models import (
    AgentShift,
    Contact,
    Message,
    MessageChannel,
    MessageDirection,
    Tag,
    Ticket,
    TicketChange,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    tag_names_clean,
)
from tickets.search import search_vector_update
from tickets.selectors import contact_by

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
    folded: bool = False  # an identical recent request's ticket, returned instead of a new one


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


def _contact_lock(contact: Contact) -> None:
    """Hold `contact`'s row until the transaction ends: one contact's new tickets are written
    one after the other, so the folding of identical requests and the acknowledgement limit
    each count what the others wrote."""
    Contact.objects.select_for_update().filter(pk=contact.pk).values_list("pk", flat=True).first()


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
    attachments: Sequence[attachment_files.Upload] = (),
    created_by: Actor | None = None,
) -> Ticket:
    """Create a ticket and, when there is a description, its first inbound message (with
    the provider's `external_id` and `attachments`; kept on the returned ticket as
    `first_message`).

    `notify`: with the notifications a new ticket causes (the team's, and the requester's
    acknowledgement unless `acknowledge` is False), kept on the returned ticket as
    `deliveries_created` and sent once the transaction commits. `created_by` (an agent, an
    API key) is recorded in the ticket's history as the first status change, and as who
    assigned an `assignee` (who is told, `builders.assignment_notice`).
    """
    if notify:
        _contact_lock(contact)  # the acknowledgement limit counts this contact's recent ones
    files = attachment_files.attachments_check(attachments)
    now = timezone.now()
    first_response_due, resolution_due = sla.due_times(priority=priority, start=now)
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
    if description:
        ticket.first_message = Message.objects.create(
            ticket=ticket,
            direction=MessageDirection.INBOUND,
            channel=MESSAGE_CHANNEL_FOR_TICKET[TicketChannel(channel)],
            body=description,
            author_contact=contact,
            external_id=external_id,
        )
        attachment_files.attachments_store(message=ticket.first_message, files=files)
    Ticket.objects.filter(pk=ticket.pk).update(reference=ticket.reference, **search_vector_update(ticket))
    if created_by is not None:
        TicketChange.objects.create(
            ticket=ticket,
            actor=created_by.user,
            actor_name=created_by.name,
            field=TicketChange.Field.STATUS,
            new_value=ticket.status,
        )
    if notify:
        deliveries = builders.ticket_created_deliveries(ticket, acknowledge=acknowledge)
        ticket.deliveries_created = outbox.deliveries_save(deliveries)
    record_ticket_created(channel=channel, priority=priority)  # metrics (counted on commit)
    if assignee is not None:  # recorded, and the assignee told, as ticket_update does
        edit = _TicketEdit(ticket, created_by or SYSTEM)
        assignment = edit.record(TicketChange.Field.ASSIGNEE, None, assignee)
        edit.save()
        builders.assignment_notice(ticket=ticket, change=assignment, actor=edit.actor)
    elif settings.AUTO_ASSIGN_ENABLED:
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
    or nothing.

    A request identical (channel, subject and message) to one the same contact sent within
    INTAKE_FOLD_WINDOW_SECONDS folds into it: its ticket is returned (`folded`), with no new
    deliveries, and nothing is written.
    """
    contact = contact_resolve(name=name, email=email, phone=phone)
    _contact_lock(contact)  # identical requests arriving together fold into one ticket
    earlier = _identical_recent_ticket(contact=contact, channel=channel, subject=subject, message=message)
    if earlier is not None:
        logger.info("%s request folded into %s (identical, sent again)", channel, earlier.reference)
        return IntakeResult(ticket=earlier, folded=True)
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


def _identical_recent_ticket(*, contact: Contact, channel: str, subject: str, message: str) -> Ticket | None:
    """The ticket, not closed, `contact` opened within INTAKE_FOLD_WINDOW_SECONDS through
    `channel` with this subject and message, or None (also when folding is off)."""
    window = settings.INTAKE_FOLD_WINDOW_SECONDS
    if window <= 0:
        return None
    return (
        Ticket.objects.filter(
            contact=contact,
            channel=channel,
            subject=subject,
            description=message,
            created_at__gte=timezone.now() - timedelta(seconds=window),
        )
        .exclude(status=TicketStatus.CLOSED)
        .select_related("contact", "assignee")
        .order_by("-created_at")
        .first()
    )


class _TicketEdit:
    """Changes to one ticket row the caller's transaction holds, written by one UPDATE with
    their history rows (each with its actor), then told to escalation."""

    def __init__(self, ticket: Ticket, actor: Actor) -> None:
        self.ticket, self.actor, self.now = ticket, actor, timezone.now()
        self.fields: dict[str, Any] = {}
        self.history: list[TicketChange] = []
        self.status_changed = self.priority_changed = False

    def set(self, field: str, value: Any) -> None:
        setattr(self.ticket, field, value)
        self.fields[field] = value

    def record(self, field: str, old: Any, new: Any) -> TicketChange:
        change = TicketChange(
            ticket=self.ticket,
            actor=self.actor.user,
            actor_name=self.actor.name,
            field=field,
            old_value=str(old or "")[:200],
            new_value=str(new or "")[:200],
        )
        self.history.append(change)
        return change

    def move_to(self, status: str) -> None:
        """The one way a ticket's status changes: `STATUS_TRANSITIONS` decides whether it may;
        the change is recorded, resolved_at follows, the resolution clock pauses while pending
        and resumes after, and escalation hears of it when saved. Raises DomainError (nothing
        changed) for a transition the table forbids."""
        ticket = self.ticket
        if status == ticket.status:
            return
        if not ticket.can_transition_to(status):
            raise DomainError(
                f"Cannot change status from {ticket.status} to {status}.",
                field="status",
                code="invalid_transition",
            )
        self.record(TicketChange.Field.STATUS, ticket.status, status)
        self.set("status", status)
        self.set("resolved_at", (ticket.resolved_at or self.now) if ticket.is_done else None)
        for name in sla.clocks_follow_status(ticket, now=self.now):
            self.fields[name] = getattr(ticket, name)
        self.status_changed = True

    def save(self, **expressions: Any) -> None:
        """Write the changes (and `expressions`, such as F() updates) and their history."""
        if not (self.fields or expressions or self.history):
            return
        Ticket.objects.filter(pk=self.ticket.pk).update(**self.fields, **expressions, updated_at=self.now)
        self.ticket.updated_at = self.now
        TicketChange.objects.bulk_create(self.history)
        if self.status_changed:
            escalation_hooks.ticket_status_changed(ticket=self.ticket)
        if self.priority_changed:
            escalation_hooks.ticket_priority_changed(ticket=self.ticket)


def _locked(ticket: Ticket) -> Ticket:
    """`ticket`'s row, locked until the transaction ends, with its contact and assignee."""
    return (
        Ticket.objects.select_for_update(of=("self",)).select_related("contact", "assignee").get(pk=ticket.pk)
    )


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: Actor,
    status: str | None = None,
    priority: int | None = None,
    assignee: User | Literal[_Keep.KEEP] | None = KEEP,
    subject: str | None = None,
    tags: Collection[str] | None = None,
    add_tags: Collection[str] = (),
    remove_tags: Collection[str] = (),
) -> Ticket:
    """Apply `actor`'s changes and record each one in the ticket's history.

    Raises DomainError for an illegal status change or a bad tag (and changes nothing).
    `assignee=None` unassigns; leaving it out keeps the assignee (a new assignee is told:
    `builders.assignment_notice`). `tags` replaces the ticket's tags; `add_tags` and
    `remove_tags` then adjust them.
    """
    ticket = _locked(ticket)
    edit = _TicketEdit(ticket, actor)
    assignment = None
    if status is not None:
        edit.move_to(status)
    if priority is not None and priority != ticket.priority:
        edit.record(
            TicketChange.Field.PRIORITY, TicketPriority(ticket.priority).label, TicketPriority(priority).label
        )
        edit.set("priority", priority)
        first_response_due, resolution_due = sla.due_times(priority=priority, start=ticket.created_at)
        edit.set("first_response_due", first_response_due)
        edit.set("resolution_due", resolution_due)
        edit.priority_changed = True
    if assignee is not KEEP and getattr(assignee, "pk", None) != ticket.assignee_id:
        assignment = edit.record(TicketChange.Field.ASSIGNEE, ticket.assignee, assignee)
        edit.set("assignee", assignee)
    searched: dict[str, Any] = {}
    if subject is not None and subject != ticket.subject:
        edit.record(TicketChange.Field.SUBJECT, ticket.subject, subject)
        edit.set("subject", subject)
        searched = search_vector_update(ticket)
    if tags is not None or add_tags or remove_tags:
        _retag(edit, tags, add_tags, remove_tags)
    edit.save(**searched)
    if assignment is not None:
        builders.assignment_notice(ticket=ticket, change=assignment, actor=actor)
    return ticket


def _retag(
    edit: _TicketEdit, tags: Collection[str] | None, add: Collection[str], remove: Collection[str]
) -> None:
    try:
        current = list(edit.ticket.tags.values_list("name", flat=True))
        kept = set(tag_names_clean(current if tags is None else tags))
        wanted = tag_names_clean((kept | set(tag_names_clean(add))) - set(tag_names_clean(remove)))
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="tags") from exc
    if wanted == sorted(current):
        return
    Tag.objects.bulk_create([Tag(name=name) for name in wanted], ignore_conflicts=True)
    edit.ticket.tags.set(Tag.objects.filter(name__in=wanted))
    edit.record(TicketChange.Field.TAGS, ", ".join(sorted(current)), ", ".join(wanted))


def tickets_bulk_update(*, tickets: list[Ticket], actor: Actor, **changes: Any) -> list[str]:
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
def ticket_take_next(*, agent: User) -> Ticket | None:
    """Assign to `agent` the unassigned new or open ticket whose SLA falls due first (the
    running clock: first response until answered, then resolution; tickets with no due time
    last), the more urgent first on a tie, then the oldest. Returns it, or None when none
    waits.

    The candidate row is locked with SKIP LOCKED: agents asking at the same instant each get
    a different ticket, none waits for another.
    """
    next_due = Case(
        When(first_responded_at__isnull=True, then=F("first_response_due")), default=F("resolution_due")
    )
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True)
        .filter(status__in=(TicketStatus.NEW, TicketStatus.OPEN), assignee__isnull=True)
        .order_by(next_due.asc(nulls_last=True), "-priority", "created_at", "id")
        .first()
    )
    if ticket is None:
        return None
    return ticket_update(ticket=ticket, actor=Actor.of(agent), assignee=agent)


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
    updated = ticket_update(ticket=ticket, actor=SYSTEM, assignee=shift.user)
    ticket.assignee, ticket.updated_at = updated.assignee, updated.updated_at
    return shift.user


def agent_shift_set(*, user: User, on_shift: bool) -> AgentShift:
    shift, _ = AgentShift.objects.update_or_create(user=user, defaults={"on_shift": on_shift})
    return shift


@transaction.atomic
def message_create(
    *,
    ticket: Ticket,
    direction: str,
    body: str,
    channel: str | None = None,
    author_user: User | None = None,
    author_contact: Contact | None = None,
    author_label: str = "",
    external_id: str | None = None,
    actor: Actor | None = None,
    attachments: Sequence[attachment_files.Upload] = (),
) -> Message:
    """Add a message (with its `attachments`) to a ticket and move the ticket along.

    An agent's first outbound message stops the first-response clock and opens a new
    ticket; a customer's message reopens a pending or resolved one. Closed tickets take
    no more messages (DomainError). `author_label` names a writer that is neither a user nor
    a contact (an API key). `actor` is who the status change is recorded for: by default the
    author (the agent, or the customer), else SupportHub. Attachments over a limit or of a
    refused type raise TooLarge/DomainError before anything is written.
    """
    ticket = _locked(ticket)  # with its contact: a reply goes to it
    if ticket.status == TicketStatus.CLOSED:
        raise DomainError(f"Ticket {ticket.reference} is closed and takes no more messages.", field="ticket")
    files = attachment_files.attachments_check(attachments)
    if direction == MessageDirection.NOTE:
        channel = MessageChannel.INTERNAL
    message = Message.objects.create(
        ticket=ticket,
        direction=direction,
        channel=channel or MESSAGE_CHANNEL_FOR_TICKET[TicketChannel(ticket.channel)],
        body=body,
        author_user=author_user,
        author_contact=author_contact,
        author_label=author_label[:200],
        external_id=external_id,
    )
    stored = attachment_files.attachments_store(message=message, files=files)
    if direction == MessageDirection.OUTBOUND and external_id is None:
        # an agent's reply goes to the contact via the ticket's channel; an email's
        # Message-ID (named by reply_deliveries) is the message's external_id.
        deliveries = builders.reply_deliveries(message, stored)
        if message.external_id is not None:
            Message.objects.filter(pk=message.pk).update(external_id=message.external_id)
        outbox.deliveries_save(deliveries)
    if actor is None:
        if author_user is not None:
            actor = Actor.of(author_user)
        else:
            actor = Actor.customer(author_contact) if author_contact is not None else SYSTEM
    edit = _TicketEdit(ticket, actor)
    if direction == MessageDirection.OUTBOUND:
        if ticket.first_responded_at is None:
            edit.set("first_responded_at", message.created_at)
        if ticket.status == TicketStatus.NEW:
            edit.move_to(TicketStatus.OPEN)
    elif direction == MessageDirection.INBOUND and ticket.status in (
        TicketStatus.PENDING,
        TicketStatus.RESOLVED,
    ):
        edit.move_to(TicketStatus.OPEN)
    edit.save(message_count=F("message_count") + 1, **search_vector_update(ticket))
    return message
