"""Email-to-ticket: an inbound email becomes a Message on its ticket, or a new ticket.

django-anymail's inbound webhook (any ESP) parses the email and sends the `inbound`
signal; the receiver (in apps.py) calls `inbound_email_receive`.

Who may write on a ticket by email: a reply that carries the ticket's thread token (in one
of our Message-IDs it answers, or the id of an email already on the ticket) threads when it
comes from the ticket's contact or an address already on the thread; from anyone else it is
held on the ticket as a note "from a third party", never the contact's reply. A bare
reference ("[SH-1004]" in the subject, or one of our Message-IDs without the token) is
guessable: it threads only from the contact's own address; anyone else opens a ticket of
their own.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field

from anymail.inbound import AnymailInboundMessage
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.html import strip_tags

from notifications.builders import TICKET_MSGID_PREFIX, notify_inbound_message, thread_token_valid
from notifications.models import Delivery
from supporthub.text import single_line
from tickets.attachments import Upload, attachments_acceptable
from tickets.merging import ticket_merge_target
from tickets.models import Message, MessageChannel, MessageDirection, Ticket, TicketChannel, TicketStatus
from tickets.services import contact_resolve, message_create, ticket_create

logger = logging.getLogger(__name__)

MSGID_RE = re.compile(r"<[^<>\s]+>")
OUR_MSGID_RE = re.compile(rf"<{re.escape(TICKET_MSGID_PREFIX)}(\d+)(?:-([0-9a-f]+))?\.")
SUBJECT_MAX = 200
BODY_MAX = 20_000


class InboundEmailRejected(ValueError):
    """The email cannot become a message (no sender, no content): answered with a 400."""


@dataclass
class InboundResult:
    message: Message | None
    created_ticket: bool = False
    duplicate: bool = False
    third_party: bool = False  # held on the ticket as a note: not from its thread
    deliveries: list[Delivery] = field(default_factory=list)


def _clean(text: str) -> str:
    return (text or "").replace("\x00", "").strip()


def _reference_re() -> re.Pattern[str]:
    return re.compile(rf"\[({re.escape(settings.TICKET_REFERENCE_PREFIX)}-\d+)\]", re.IGNORECASE)


def _message_id(email: AnymailInboundMessage, sender: str, subject: str, body: str) -> str:
    found = MSGID_RE.search(_clean(email.get("Message-ID", "")))
    if found:
        return found.group(0)[:255]
    # No Message-ID: derive a stable one so a redelivered webhook is still a duplicate.
    digest = hashlib.sha256(
        "\n".join([sender, _clean(email.get("Date", "")), subject, body]).encode()
    ).hexdigest()
    return f"<missing-{digest[:40]}@inbound.supporthub>"


@dataclass(frozen=True)
class ThreadMatch:
    """The ticket an email answers, and whether the reference carried its thread token."""

    ticket: Ticket
    tokened: bool
    merged_from: Ticket | None = None  # the ticket the email names, merged into `ticket`


def _match(ticket: Ticket, *, tokened: bool) -> ThreadMatch:
    """A match on `ticket`, or on the ticket it was merged into: replies follow a merge."""
    target = ticket_merge_target(ticket)
    return ThreadMatch(target, tokened=tokened, merged_from=ticket if target.pk != ticket.pk else None)


def find_ticket(email: AnymailInboundMessage, subject: str) -> ThreadMatch | None:
    """The ticket an email answers. With the thread token: an email of the ticket's that it
    answers (In-Reply-To/References), or one of our Message-IDs with the ticket's token. Without
    it (guessable): one of our Message-IDs without a valid token, or [SH-1234] in the subject.
    A ticket merged into another answers for that one."""
    ids = MSGID_RE.findall(" ".join(_clean(email.get(h, "")) for h in ("In-Reply-To", "References")))
    known = (
        Message.objects.filter(external_id__in=ids).select_related("ticket").order_by("-created_at").first()
        if ids
        else None
    )
    if known is not None:
        return _match(known.ticket, tokened=True)
    untokened: int | None = None
    for item in reversed(ids):
        ours = OUR_MSGID_RE.match(item)
        if ours is None:
            continue
        ticket_id = int(ours.group(1))
        if ours.group(2) and thread_token_valid(ticket_id, ours.group(2)):
            ticket = Ticket.objects.filter(pk=ticket_id).first()
            if ticket is not None:
                return _match(ticket, tokened=True)
        untokened = untokened or ticket_id
    match = _reference_re().search(subject)
    ticket = None
    if untokened is not None:
        ticket = Ticket.objects.filter(pk=untokened).first()
    if ticket is None and match:
        ticket = Ticket.objects.filter(reference__iexact=match.group(1)).first()
    return _match(ticket, tokened=False) if ticket is not None else None


def _on_thread(match: ThreadMatch, address: str) -> bool:
    """Whether an email from `address` with this reference is a reply on `match.ticket`: its
    contact's address (or that of the merged ticket the email names), or with the thread
    token an address already on the thread (the author of one of its inbound messages)."""
    ticket = match.ticket
    named = [ticket, *([match.merged_from] if match.merged_from is not None else [])]
    if any(address == (each.contact.email or "").lower() for each in named):
        return True
    return (
        match.tokened
        and ticket.messages.filter(
            direction=MessageDirection.INBOUND, author_contact__email__iexact=address
        ).exists()
    )


def _is_autoresponder(email: AnymailInboundMessage) -> bool:
    auto = _clean(email.get("Auto-Submitted", "no")).lower()
    precedence = _clean(email.get("Precedence", "")).lower()
    return auto != "no" or precedence in ("bulk", "junk", "list", "auto_reply")


def inbound_email_receive(*, email: AnymailInboundMessage) -> InboundResult:
    """Record an inbound email. Duplicates (same Message-ID) are ignored.

    Raises InboundEmailRejected when the email has no valid sender or no content.
    """
    sender = email.from_email
    address = _clean(sender.addr_spec if sender else "").lower()
    try:
        validate_email(address)
    except ValidationError:
        raise InboundEmailRejected(f"email has no valid From address ({address!r})") from None
    subject = single_line(_clean(email.subject or ""))[:SUBJECT_MAX] or "(no subject)"
    body = _clean(email.stripped_text or email.text or strip_tags(email.html or ""))[:BODY_MAX]
    if not body:
        raise InboundEmailRejected("email has no text or HTML body")
    message_id = _message_id(email, address, subject, body)
    if Message.objects.filter(external_id=message_id).exists():
        logger.info("inbound email %s is a duplicate; ignored", message_id)
        return InboundResult(message=None, duplicate=True)
    try:
        with transaction.atomic():
            return _record(email, address, sender.display_name if sender else "", subject, body, message_id)
    except IntegrityError:
        # The same email arrived twice at the same moment; the other request recorded it.
        if Message.objects.filter(external_id=message_id).exists():
            return InboundResult(message=None, duplicate=True)
        raise


def _record(
    email: AnymailInboundMessage, address: str, name: str, subject: str, body: str, message_id: str
) -> InboundResult:
    files, not_kept = attachments_acceptable(email_uploads(email))
    body = "\n\n".join([body, *not_kept])
    match = find_ticket(email, subject)
    ticket = match.ticket if match is not None and match.ticket.status != TicketStatus.CLOSED else None
    if ticket is not None and match is not None and not _on_thread(match, address):
        if match.tokened:
            return _record_third_party(ticket, address, name, body, message_id, files)
        logger.info("inbound email %s names %s but is not from its contact: new ticket", message_id,
                    ticket.reference)  # fmt: skip
        ticket = None
    if ticket is not None:
        contact = (
            ticket.contact if ticket.contact.email == address else contact_resolve(name=name, email=address)
        )
        message = message_create(
            ticket=ticket,
            direction=MessageDirection.INBOUND,
            body=body,
            channel=MessageChannel.EMAIL,
            author_contact=contact,
            external_id=message_id,
            attachments=files,
        )
        logger.info("inbound email %s added to %s", message_id, ticket.reference)
        return InboundResult(message=message, deliveries=notify_inbound_message(message))

    contact = contact_resolve(name=_clean(name), email=address)
    ticket = ticket_create(
        contact=contact,
        subject=subject,
        description=body,
        channel=TicketChannel.EMAIL,
        external_id=message_id,
        notify=True,
        acknowledge=not _is_autoresponder(email),
        attachments=files,
    )
    first = ticket.first_message
    assert first is not None  # the body is never empty (checked above)
    logger.info("inbound email %s opened %s", message_id, ticket.reference)
    return InboundResult(message=first, created_ticket=True, deliveries=list(ticket.deliveries_created))


def email_uploads(email: AnymailInboundMessage) -> list[Upload]:
    """The email's attachments and inline parts (images its HTML shows by cid:), as uploads."""
    uploads = []
    for part in [*email.attachments, *email.inlines]:
        if part.get_content_maintype() == "multipart":
            continue
        content = part.get_content_bytes() or b""
        content_id = (part["Content-ID"] or "").strip().strip("<>")
        uploads.append(Upload.of_bytes(part.get_filename() or "", content, content_id=content_id))
    return uploads


def _record_third_party(
    ticket: Ticket, address: str, name: str, body: str, message_id: str, files: list[Upload]
) -> InboundResult:
    """Hold an email on `ticket` from someone not on its thread: an internal note by that
    sender, marked as from a third party. It does not reopen the ticket, counts as no reply
    of the contact's, and tells nobody (no customer-reply notification)."""
    sender = contact_resolve(name=_clean(name), email=address)
    message = message_create(
        ticket=ticket,
        direction=MessageDirection.NOTE,
        body=f"Email from a third party, {address} (not the ticket's contact); held, not a reply of "
        f"the customer's:\n\n{body}",
        author_contact=sender,
        external_id=message_id,
        attachments=files,
    )
    logger.warning("inbound email %s on %s is from a third party (%s): held as a note", message_id,
                   ticket.reference, address)  # fmt: skip
    return InboundResult(message=message, third_party=True)
