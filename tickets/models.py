"""Contacts, tickets, messages and SLA targets."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.functional import LazyObject

from supporthub.phone import InvalidPhoneNumber, to_e164

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from notifications.models import Delivery


def validate_e164(value: str) -> None:
    try:
        normalised = to_e164(value)
    except InvalidPhoneNumber as exc:
        raise ValidationError(str(exc)) from exc
    if normalised != value:
        raise ValidationError(f"Write it as {normalised}.")


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending on customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The one table of legal status changes. Staying in the same status is always allowed.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
ACTIVE_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class TicketPriority(models.IntegerChoices):
    """Stored as a number so that ordering by priority is ordering by urgency."""

    LOW = 1, "low"
    NORMAL = 2, "normal"
    HIGH = 3, "high"
    URGENT = 4, "urgent"


class TicketChannel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    WEB = "web", "Web"
    API = "api", "API"


class MessageDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound (from the contact)"
    OUTBOUND = "outbound", "Outbound (to the contact)"
    NOTE = "note", "Internal note"


class MessageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone call"
    SMS = "sms", "SMS"
    WEB = "web", "Web"
    API = "api", "API"
    INTERNAL = "internal", "Internal"


class Contact(models.Model):
    """A customer. Email (lower-cased) and phone (E.164) each identify at most one contact."""

    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    phone = models.CharField(
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_e164],
        help_text="E.164, e.g. +14155550123",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # Searches match an email whatever its case (tickets.filters, the admin): `iexact`
        # compares UPPER(email), which only this index serves.
        indexes = [models.Index(Upper("email"), name="contact_email_upper_idx")]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"Contact {self.pk}"


TAG_MAX_LENGTH = 50
TAGS_PER_TICKET = 20
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def tag_name_clean(value: str) -> str:
    """`value` as a tag name: trimmed and lower-cased. Raises ValidationError saying what is
    wrong (empty, too long, or a character other than letters, digits, "-" and "_")."""
    name = value.strip().lower()
    if not name:
        raise ValidationError("A tag cannot be empty.")
    if len(name) > TAG_MAX_LENGTH:
        raise ValidationError(
            f"A tag has at most {TAG_MAX_LENGTH} characters ({name[:20]}… has {len(name)})."
        )
    if not TAG_RE.match(name):
        raise ValidationError(
            f"Tag {name!r}: use letters a-z, digits, '-' and '_', starting with a letter or digit."
        )
    return name


def tag_names_clean(values: Iterable[str]) -> list[str]:
    """Distinct clean tag names, sorted; raises ValidationError for a bad one or too many."""
    names = sorted({tag_name_clean(value) for value in values})
    if len(names) > TAGS_PER_TICKET:
        raise ValidationError(f"A ticket has at most {TAGS_PER_TICKET} tags.")
    return names


class Tag(models.Model):
    # Names are cleaned by tag_names_clean wherever tags come in (API, console, services).
    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketQuerySet(models.QuerySet["Ticket"]):
    def active(self) -> TicketQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class TicketManager(models.Manager["Ticket"]):
    def get_queryset(self) -> TicketQuerySet:
        return TicketQuerySet(self.model, using=self._db).defer("search_vector")

    def active(self) -> TicketQuerySet:
        return self.get_queryset().active()


class Ticket(models.Model):
    # NULL only inside the creating transaction, until the reference derived from the id is
    # written (tickets.services.ticket_create).
    reference = models.CharField(max_length=32, unique=True, null=True, editable=False)  # noqa: DJ001
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.PositiveSmallIntegerField(choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    channel = models.CharField(max_length=16, choices=TicketChannel.choices)
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,  # ticket_assignee_status_idx starts with it
    )
    # SLA due times are computed from this exact instant, so the service sets it.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # One flag per SLA clock, each set once by the breach sweep (tickets.sla); sla_breached is
    # set with either, for the triage order and its index.
    first_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    sla_breached = models.BooleanField(default=False)
    # Set while pending on the customer (the resolution clock is paused).
    sla_paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept by the message service so that lists need no COUNT per row.
    message_count = models.PositiveIntegerField(default=0, editable=False)
    # Changed through tickets.services.ticket_update, which records it in the history.
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    # A duplicate closed by tickets.merging.ticket_merge: the ticket its messages moved to.
    # Always a ticket that is not itself merged (a merge re-points the ones merged into it).
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_tickets",
    )
    # Related tickets, both ways (tickets.merging.ticket_link / ticket_unlink).
    links = models.ManyToManyField("self", symmetrical=True, blank=True)
    # The words of the subject, description and messages (PostgreSQL only): written by
    # tickets.services with each of those through tickets.search, which searches it.
    search_vector = SearchVectorField(null=True, editable=False)

    # Deferred: no page needs the vector, and a full save() must not write back a stale one.
    objects = TicketManager()

    # Not columns: the message and the notifications ticket_create wrote with the ticket, on
    # the instance it returns, so that callers need not read them back.
    first_message: Message | None = None
    deliveries_created: Sequence[Delivery] = ()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            models.Index(fields=["-updated_at"], name="ticket_updated_idx"),
            models.Index(fields=["status", "-created_at"], name="ticket_status_created_idx"),
            models.Index(fields=["priority", "-created_at"], name="ticket_priority_created_idx"),
            # The common triage query (status + priority): pages and their counts from one index.
            models.Index(fields=["status", "priority", "-created_at"], name="ticket_status_priority_idx"),
            models.Index(fields=["channel", "-created_at"], name="ticket_channel_created_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["sla_breached"], name="ticket_breached_idx", condition=Q(sla_breached=True)),
            # A reference is searched whatever its case (`iexact`: UPPER(reference)).
            models.Index(Upper("reference"), name="ticket_reference_upper_idx"),
            # The agents' default ticket list (admin): active tickets in triage order, the
            # admin's own tie-break (-pk) last, so a page is read from the index unsorted.
            models.Index(
                fields=["-sla_breached", "-priority", "first_response_due", "-created_at", "-id"],
                name="ticket_triage_idx",
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(merged_into=F("id")), name="ticket_not_merged_into_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def priority_name(self) -> str:
        return TicketPriority(self.priority).label

    def can_transition_to(self, status: str) -> bool:
        return status == self.status or status in STATUS_TRANSITIONS[TicketStatus(self.status)]

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES


class SlaPolicy(models.Model):
    """Response and resolution targets for one priority."""

    priority = models.PositiveSmallIntegerField(choices=TicketPriority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    # Business hours and what a breach does.
    business_calendar = models.ForeignKey(
        "escalation.BusinessCalendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sla_policies",
        help_text="Count only business hours of this calendar (empty: around the clock).",
    )
    notify_on_breach = models.BooleanField(default=True, help_text="Tell the team (Slack, team email).")
    open_incident_on_breach = models.BooleanField(
        default=False, help_text="Open an incident on the SLA-breach escalation policy."
    )

    class Meta:
        ordering = ["-priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        label = TicketPriority(self.priority).label
        return f"{label}: respond {self.first_response_minutes} min, resolve {self.resolution_minutes} min"


class Message(models.Model):
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,  # message_ticket_timeline_idx starts with it
    )
    direction = models.CharField(max_length=16, choices=MessageDirection.choices)
    channel = models.CharField(max_length=16, choices=MessageChannel.choices)
    body = models.TextField()
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    author_contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    # Who wrote it when neither a user nor a contact did: the name of the API key that posted it.
    author_label = models.CharField(max_length=200, blank=True)
    # Provider id (email Message-ID, Twilio SID) so that a redelivered webhook is a no-op.
    external_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        # A ticket's messages in order either way, ties broken by id, with no sort and
        # stopping at a LIMIT: the timeline, and the latest emails a reply threads onto.
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="message_ticket_timeline_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(author_user__isnull=False) & Q(author_contact__isnull=False)),
                name="message_single_author",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} on {self.ticket_id}"

    @property
    def author_name(self) -> str:
        if self.author_user is not None:
            return self.author_user.get_full_name() or self.author_user.get_username()
        if self.author_contact is not None:
            return str(self.author_contact)
        return self.author_label


class _AttachmentStorage(LazyObject):
    """STORAGES["attachments"] (var/ or S3), looked up when first used rather than when the
    model is defined; a test that changes STORAGES empties `_wrapped`."""

    def _setup(self) -> None:
        self._wrapped = storages["attachments"]


ATTACHMENT_STORAGE = _AttachmentStorage()


def attachment_storage() -> Storage:
    return ATTACHMENT_STORAGE  # type: ignore[return-value]


def attachment_path(attachment: Attachment, filename: str) -> str:
    """<ticket id>/<random>/<file name>: unguessable, and a ticket's files under one prefix."""
    return f"{attachment.message.ticket_id}/{uuid.uuid4().hex}/{filename}"


class Attachment(models.Model):
    """A file on a message; written only through tickets.attachments."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(storage=attachment_storage, upload_to=attachment_path, max_length=400)
    filename = models.CharField(max_length=255, help_text="The sanitised name shown and downloaded.")
    content_type = models.CharField(max_length=100, help_text="Judged from the content.")
    size = models.PositiveBigIntegerField()
    # An email's inline image: the Content-ID its HTML names (cid:...).
    content_id = models.CharField(max_length=255, blank=True)
    # Where it came from, when fetched (an MMS: "<MessageSid>:<index>"), so it is stored once.
    source_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # An image's small preview for the console, made on first request (tickets.attachments).
    thumbnail = models.FileField(
        storage=attachment_storage, upload_to=attachment_path, max_length=400, blank=True
    )
    thumbnail_refused = models.BooleanField(
        default=False, help_text="The image is too large or unreadable to preview: shown as a link only."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in INLINE_IMAGE_TYPES

    @property
    def has_preview(self) -> bool:
        """Whether the console shows a thumbnail (made on its first request) for this file."""
        return self.is_image and not self.thumbnail_refused


# Images a browser may show inline; every other file is served as a download.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class TicketChange(models.Model):
    """One field change on a ticket: who changed what, from what, to what, and when."""

    class Field(models.TextChoices):
        STATUS = "status", "Status"
        PRIORITY = "priority", "Priority"
        ASSIGNEE = "assignee", "Assignee"
        SUBJECT = "subject", "Subject"
        TAGS = "tags", "Tags"
        MERGE = "merge", "Merge"  # old_value: the duplicate's reference; new_value: the target's
        LINKS = "links", "Links"  # a reference linked (new_value) or unlinked (old_value)
        MACRO = "macro", "Macro applied"

    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,  # ticketchange_ticket_idx starts with it
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who made the change when it was not a user: an API key's name, the customer, SupportHub.
    actor_name = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=16, choices=Field.choices)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketchange_ticket_idx")]

    def __str__(self) -> str:
        return self.summary or f"{self.field}: {self.old_value or '—'} → {self.new_value or '—'}"

    @property
    def summary(self) -> str:
        """The change as a phrase where "from … to …" does not fit (merges, links, macros), else ""."""
        if self.field == self.Field.MACRO:
            return f"applied macro {self.new_value}"
        if self.field == self.Field.MERGE:
            return f"merged {self.old_value} into {self.new_value}"
        if self.field == self.Field.LINKS:
            return f"linked {self.new_value}" if self.new_value else f"unlinked {self.old_value}"
        return ""

    @property
    def actor_label(self) -> str:
        if self.actor is not None:
            return self.actor.get_full_name() or self.actor.get_username()
        return self.actor_name


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # unknown placeholders stay visible rather than vanish


# What canned replies and macros may write in braces, and what each becomes.
PLACEHOLDERS = {
    "contact_name": "the contact's name",
    "reference": "the ticket's reference",
    "subject": "the ticket's subject",
    "agent_name": "the name of the agent who inserts it",
}
PLACEHOLDERS_HELP = "Placeholders filled in for the ticket: " + ", ".join(
    f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items()
)
SHORTCUT_HELP = "Type ::shortcut and a space in a ticket's reply box to insert it. Letters, digits, - and _."


def placeholders_fill(text: str, *, ticket: Ticket, agent: User | None = None) -> str:
    """`text` with the PLACEHOLDERS filled in for `ticket` (and the answering `agent`)."""
    values = _Placeholders(
        contact_name=ticket.contact.name,
        reference=ticket.reference or "",
        subject=ticket.subject,
        agent_name=(agent.get_full_name() or agent.get_username()) if agent else "",
    )
    try:
        return text.format_map(values)
    except (ValueError, IndexError):  # a stray brace in the saved text: show it as written
        return text


class _Shortcut(models.Model):
    """A saved text an agent inserts by typing ::shortcut: one name for one text, across
    canned replies and macros."""

    shortcut = models.SlugField(max_length=50, unique=True, null=True, blank=True, help_text=SHORTCUT_HELP)

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        self.shortcut = self.shortcut.lower() if self.shortcut else None
        if not self.shortcut:
            return
        for model in (CannedReply, Macro):
            others = model.objects.filter(shortcut=self.shortcut)
            if isinstance(self, model):
                others = others.exclude(pk=self.pk)
            taken = others.first()
            if taken is not None:
                what = f"the {model._meta.verbose_name} “{taken}”"
                raise ValidationError({"shortcut": f"::{self.shortcut} already inserts {what}."})


class CannedReply(_Shortcut):
    """A saved answer, with PLACEHOLDERS."""

    title = models.CharField(max_length=100, unique=True)
    body = models.TextField(help_text=PLACEHOLDERS_HELP)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title

    def render(self, *, ticket: Ticket, agent: User | None = None) -> str:
        """The body with the placeholders filled in for `ticket` (and the answering `agent`)."""
        return placeholders_fill(self.body, ticket=ticket, agent=agent)


class Macro(_Shortcut):
    """A canned reply plus field changes, applied to a ticket in one click
    (tickets.macros.macro_apply). Empty fields leave the ticket's as they are."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField(
        blank=True, help_text=f"Sent to the contact (or kept as a note). {PLACEHOLDERS_HELP}"
    )
    internal = models.BooleanField(
        default=False, help_text="Add the text as an internal note instead of sending it."
    )
    status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    priority = models.PositiveSmallIntegerField(choices=TicketPriority.choices, null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True, "is_active": True},
    )
    assign_to_applier = models.BooleanField(
        "assign to the agent applying it",
        default=False,
        help_text="Assign the ticket to whoever applies the macro (instead of a fixed assignee).",
    )
    add_tags = models.CharField(max_length=500, blank=True, help_text="Tags to add, separated by spaces.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(assign_to_applier=False) | Q(assignee__isnull=True),
                name="macro_one_assignee",
                violation_error_message="Choose an assignee or “assign to the agent applying it”, not both.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        names = [part for part in re.split(r"[\s,]+", self.add_tags) if part]
        try:
            self.add_tags = " ".join(tag_names_clean(names))
        except ValidationError as exc:
            raise ValidationError({"add_tags": exc.messages}) from exc

    @property
    def tags(self) -> list[str]:
        return self.add_tags.split()

    @property
    def summary(self) -> str:
        """What applying it does, in a few words."""
        parts = [("adds a note" if self.internal else "sends a reply")] if self.body else []
        if self.status:
            parts.append(f"status {self.status}")
        if self.priority:
            parts.append(f"priority {TicketPriority(self.priority).label}")
        if self.assignee_id:
            parts.append(f"assigns {self.assignee}")
        if self.assign_to_applier:
            parts.append("assigns the agent applying it")
        if self.add_tags:
            parts.append(f"tags {self.add_tags}")
        return ", ".join(parts) or "nothing"

    def render(self, *, ticket: Ticket, agent: User | None = None) -> str:
        return placeholders_fill(self.body, ticket=ticket, agent=agent)


class AgentShift(models.Model):
    """Whether an agent takes new tickets now; the round-robin remembers who was last given one."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shift")
    on_shift = models.BooleanField(default=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["on_shift", "last_assigned_at"], name="agentshift_rr_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({'on' if self.on_shift else 'off'} shift)"


class SavedView(models.Model):
    """A named ticket-list filter: the list's query string. Personal (an owner) or shared."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
        help_text="Empty: shared with everyone.",
    )
    query = models.CharField(max_length=500, help_text="The ticket list's query string, e.g. assignee=mine.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_owner_name_unique"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner__isnull=True), name="savedview_shared_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None
