"""Email-to-ticket: an inbound email becomes a Message on its ticket, or a new ticket.

django-anymail's inbound webhook (any ESP) parses the email and sends the `inbound`
signal; the receiver (in apps.py) calls `inbound_email_receive`.
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

from notifications.builders import TICKET_MSGID_PREFIX, notify_inbound_message
from notifications.models import Delivery
from supporthub.text import single_line
from tickets.attachments import Upload, attachments_acceptable
from tickets.models import Message, MessageChannel, MessageDirection, Ticket, TicketChannel, TicketStatus
from tickets.services import contact_resolve, message_create, ticket_create

logger = logging.getLogger(__name__)

MSGID_RE = re.compile(r"<[^<>\s]+>")
OUR_MSGID_RE = re.compile(rf"<{re.escape(TICKET_MSGID_PREFIX)}(\d+)\.")
SUBJECT_MAX = 200
BODY_MAX = 20_000


class InboundEmailRejected(ValueError):
    """The email cannot become a message (no sender, no content): answered with a 400."""


@dataclass
class InboundResult:
    message: Message | None
    created_ticket: bool = False
    duplicate: bool = False
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


def find_ticket(email: AnymailInboundMessage, subject: str) -> Ticket | None:
    """The ticket an email answers: [SH-1234] in the subject, else In-Reply-To/References."""
    match = _reference_re().search(subject)
    if match:
        ticket = Ticket.objects.filter(reference__iexact=match.group(1)).first()
        if ticket is not None:
            return ticket
    ids = MSGID_RE.findall(" ".join(_clean(email.get(h, "")) for h in ("In-Reply-To", "References")))
    if not ids:
        return None
    known = (
        Message.objects.filter(external_id__in=ids).select_related("ticket").order_by("-created_at").first()
    )
    if known is not None:
        return known.ticket
    for item in reversed(ids):
        ours = OUR_MSGID_RE.match(item)
        if ours:
            ticket = Ticket.objects.filter(pk=int(ours.group(1))).first()
            if ticket is not None:
                return ticket
    return None


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
    ticket = find_ticket(email, subject)
    if ticket is not None and ticket.status != TicketStatus.CLOSED:
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
