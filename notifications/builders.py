"""The notification builders: which deliveries each ticket event causes, and to whom.

Each builder is called inside the transaction of its event and returns the deliveries it
made (unsaved where the caller writes them with the event's own rows). Idempotency keys
name the cause, so running a builder twice creates nothing new. Who the team is lives in
`notifications.recipients`; writing and sending lives in `notifications.outbox`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from notifications.channels.slack import slack_escape, slack_link
from notifications.emails import email_payload, ticket_admin_url
from notifications.models import Delivery, DeliveryAudience, DeliveryChannel
from notifications.outbox import delivery_create, delivery_new, delivery_save
from notifications.recipients import team_emails, team_slack, team_targets, ticket_emails
from tickets.attachments import attachment_signed_url
from tickets.models import Attachment, Message, Ticket, TicketChange

if TYPE_CHECKING:
    from supporthub.actors import Actor

logger = logging.getLogger(__name__)

# Our Message-IDs look like <sh-ticket-42-<thread token>.reply.ab12cd34ef56@example.com>.
TICKET_MSGID_PREFIX = "sh-ticket-"
THREAD_HMAC_SALT = "notifications.email-thread"


def _email_domain() -> str:
    return _domain_of(settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=8)
def _domain_of(sender: str) -> str:
    """The domain of a From address ("Name <a@b>"); parsing it was ~20 µs of every intake."""
    return parseaddr(sender)[1].rpartition("@")[2] or "supporthub.local"


def thread_token(ticket_id: int, secret: str | None = None) -> str:
    """The unguessable part of `ticket_id`'s email thread: an HMAC of the id under SECRET_KEY
    (or `secret`), so knowing or guessing a ticket's reference is not enough to reply on it."""
    return salted_hmac(THREAD_HMAC_SALT, str(ticket_id), secret=secret, algorithm="sha256").hexdigest()[:20]


def thread_token_valid(ticket_id: int, token: str) -> bool:
    """Whether `token` is `ticket_id`'s thread token under SECRET_KEY or one of
    SECRET_KEY_FALLBACKS (emails sent before a key rotation still thread)."""
    return any(
        constant_time_compare(token, thread_token(ticket_id, secret))
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    )


def new_message_id(ticket: Ticket, kind: str) -> str:
    """A Message-ID that names the ticket and carries its thread token, so a reply to it finds
    the ticket again."""
    token = thread_token(ticket.pk)
    return f"<{TICKET_MSGID_PREFIX}{ticket.pk}-{token}.{kind}.{uuid.uuid4().hex[:12]}@{_email_domain()}>"


def _acknowledgement_key(ticket: Ticket) -> str:
    return f"ticket:{ticket.pk}:created:ack-email"


def _thread_headers(ticket: Ticket, message_id: str) -> dict[str, str]:
    """Message-ID plus In-Reply-To/References pointing at the ticket's earlier emails: its
    messages' and the acknowledgement's (kept in that delivery's headers), newest first."""
    if ticket.first_message is not None:  # created just now: that message is its only one
        external_id = ticket.first_message.external_id or ""
        earlier: list[str | None] = [external_id] if external_id.startswith("<") else []
    else:
        emails = [
            *Message.objects.filter(ticket=ticket, external_id__startswith="<")
            .order_by("-created_at", "-id")
            .values_list("created_at", "external_id")[:10],
            *Delivery.objects.filter(idempotency_key=_acknowledgement_key(ticket)).values_list(
                "created_at", "payload__headers__Message-ID"
            ),
        ]
        emails.sort(key=lambda email: email[0], reverse=True)
        earlier = [external_id for _, external_id in emails[:10] if external_id]
    headers = {"Message-ID": message_id}
    if earlier:
        headers["In-Reply-To"] = str(earlier[0])
        headers["References"] = " ".join(str(item) for item in reversed(earlier))
    return headers


def _slack_delivery(
    *, key: str, text: str, ticket: Ticket, message: Message | None = None
) -> Delivery | None:
    """The (unsaved) Slack notification to the team, or None when Slack is not configured.
    Customer text in `text` must already be escaped (`slack_escape`)."""
    target = team_slack()
    if target is None:
        return None
    return delivery_new(
        channel=DeliveryChannel.SLACK,
        recipient=target,
        body=text,
        idempotency_key=key,
        ticket=ticket,
        message=message,
    )


def ticket_created_deliveries(ticket: Ticket, *, acknowledge: bool = True) -> list[Delivery]:
    """What a new ticket causes, unsaved: the team is told (email, Slack) and the requester
    gets an acknowledgement (email or SMS). tickets.services.ticket_create writes them with
    the ticket; `delivery_save` writes one on its own.

    `acknowledge=False` skips the requester's acknowledgement (e.g. for autoresponders).
    """
    contact = ticket.contact
    first = ticket.first_message or (
        ticket.messages.filter(direction="inbound").order_by("created_at", "id").first()
    )
    deliveries: list[Delivery] = []
    for address in team_emails():
        deliveries.append(
            delivery_new(
                channel=DeliveryChannel.EMAIL,
                recipient=address,
                subject=f"[{ticket.reference}] New {ticket.priority_name} ticket: {ticket.subject}",
                body="",
                payload=email_payload(
                    "ticket_created_team",
                    {"Message-ID": new_message_id(ticket, "team")},
                    ticket=ticket,
                    message=first,
                ),
                idempotency_key=f"ticket:{ticket.pk}:created:email:{address.lower()}",
                ticket=ticket,
                message=first,
            )
        )
    link = slack_link(ticket_admin_url(ticket), ticket.reference)
    slack = _slack_delivery(
        key=f"ticket:{ticket.pk}:created:slack",
        text=f"New {ticket.priority_name} {ticket.channel} ticket {link}: {slack_escape(ticket.subject)} "
        f"(from {slack_escape(str(contact))})",
        ticket=ticket,
        message=first,
    )
    if slack is not None:
        deliveries.append(slack)

    if (
        acknowledge
        and ticket.channel in ("email", "chat", "web", "api")
        and contact.email
        and acknowledgement_allowed(ticket, contact.email)
    ):
        deliveries.append(
            delivery_new(
                channel=DeliveryChannel.EMAIL,
                recipient=contact.email,
                subject=f"[{ticket.reference}] We received your request: {ticket.subject}",
                body="",
                payload=email_payload(
                    "ticket_created_ack",
                    _thread_headers(ticket, new_message_id(ticket, "ack")),
                    ticket=ticket,
                    message=first,
                ),
                idempotency_key=_acknowledgement_key(ticket),
                audience=DeliveryAudience.CUSTOMER,
                ticket=ticket,
                message=first,
            )
        )
    elif (
        acknowledge
        and ticket.channel == "phone"
        and contact.phone
        and twilio_configured()
        and acknowledgement_allowed(ticket, contact.phone)
    ):
        deliveries.append(
            delivery_new(
                channel=DeliveryChannel.SMS,
                recipient=contact.phone,
                body=(
                    f"{settings.APP_NAME}: we received your request {ticket.reference} "
                    f'"{ticket.subject[:60]}" and will get back to you soon.'
                ),
                idempotency_key=f"ticket:{ticket.pk}:created:ack-sms",
                audience=DeliveryAudience.CUSTOMER,
                ticket=ticket,
                message=first,
            )
        )
    return deliveries


ACK_KEY_PART = ":created:ack-"  # in the idempotency key of every acknowledgement


def acknowledgement_allowed(ticket: Ticket, recipient: str) -> bool:
    """Whether `recipient` (an address or number) may get `ticket`'s acknowledgement: fewer
    than ACK_LIMIT_PER_HOUR went to it in the last hour. An attacker who files requests in
    someone else's name must not mail-bomb them or run up SMS charges; past the limit the
    ticket is still opened, without one. (Callers hold the contact's row, so concurrent
    requests count each other.)"""
    limit = settings.ACK_LIMIT_PER_HOUR
    recent = Delivery.objects.filter(
        audience=DeliveryAudience.CUSTOMER,
        recipient=recipient,
        created_at__gte=timezone.now() - timedelta(hours=1),
        idempotency_key__contains=ACK_KEY_PART,
    ).values_list("pk", flat=True)[:limit]
    if len(recent) < limit:
        return True
    logger.warning(
        "no acknowledgement for %s: %s already had %s this hour (ACK_LIMIT_PER_HOUR)",
        ticket.reference, recipient, limit,
    )  # fmt: skip
    return False


def notify_inbound_message(message: Message) -> list[Delivery]:
    """A customer wrote again on a ticket: tell the assignee (or the team) and Slack."""
    ticket = message.ticket
    deliveries: list[Delivery] = []
    for address in ticket_emails(ticket):
        deliveries.append(
            delivery_create(
                channel=DeliveryChannel.EMAIL,
                recipient=address,
                subject=f"[{ticket.reference}] New reply from {ticket.contact}: {ticket.subject}",
                body="",
                payload=email_payload(
                    "inbound_message",
                    {"Message-ID": new_message_id(ticket, "inbound")},
                    ticket=ticket,
                    message=message,
                ),
                idempotency_key=f"message:{message.pk}:inbound:email:{address.lower()}",
                ticket=ticket,
                message=message,
            )
        )
    slack = _slack_delivery(
        key=f"message:{message.pk}:inbound:slack",
        text=f"New reply on {slack_link(ticket_admin_url(ticket), ticket.reference)} from "
        f"{slack_escape(str(ticket.contact))}: {slack_escape(message.body[:300])}",
        ticket=ticket,
        message=message,
    )
    if slack is not None:
        deliveries.append(delivery_save(slack))
    return deliveries


def reply_deliveries(message: Message, attachments: Sequence[Attachment] = ()) -> list[Delivery]:
    """The (unsaved) notification that sends an agent's outbound `message` (and its
    `attachments`) to the contact through the ticket's channel; the caller writes it with the
    message (`message.pk` set) and queues it (deliveries_queue).

    Email replies are threaded (Message-ID, In-Reply-To, References) and `message.external_id`
    is set to our Message-ID, so the customer's answer lands on this ticket; they carry the
    files. Phone and SMS tickets get an SMS, with a short-lived link to each file. Returns []
    when the contact cannot be reached.
    """
    ticket = message.ticket
    contact = ticket.contact
    if message.channel in ("phone", "sms"):
        if not contact.phone:
            logger.warning("reply %s on %s not sent: contact has no phone", message.pk, ticket.reference)
            return []
        return [
            delivery_new(
                channel=DeliveryChannel.SMS,
                recipient=contact.phone,
                body="\n".join(
                    [f"[{ticket.reference}] {message.body}", *map(attachment_signed_url, attachments)]
                ),
                idempotency_key=f"message:{message.pk}:reply:sms",
                audience=DeliveryAudience.CUSTOMER,
                ticket=ticket,
                message=message,
            )
        ]
    if message.channel == "internal" or not contact.email:
        logger.warning("reply %s on %s not sent: contact has no email", message.pk, ticket.reference)
        return []
    message.external_id = new_message_id(ticket, "reply")
    headers = _thread_headers(ticket, message.external_id)
    return [
        delivery_new(
            channel=DeliveryChannel.EMAIL,
            recipient=contact.email,
            subject=f"Re: [{ticket.reference}] {ticket.subject}",
            body="",
            payload=email_payload(
                "reply",
                headers,
                ticket=ticket,
                message=message,
                agent=message.author_name,
                attachments=[attachment.pk for attachment in attachments],
            ),
            idempotency_key=f"message:{message.pk}:reply:email",
            audience=DeliveryAudience.CUSTOMER,
            ticket=ticket,
            message=message,
        )
    ]


def twilio_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER)


def text_back(*, number: str, text: str, key: str, ticket: Ticket | None = None) -> Delivery:
    """Text `text` to `number` through the outbox: the answer to an inbound text that could not
    go in the webhook's TwiML (the text arrived during a database outage and was replayed).
    A customer's (`ticket` given) is retried as a customer message, staff's as a team notice.
    Idempotent on `key`."""
    return delivery_create(
        channel=DeliveryChannel.SMS,
        recipient=number,
        body=text,
        idempotency_key=key,
        ticket=ticket,
        audience=DeliveryAudience.CUSTOMER if ticket else DeliveryAudience.TEAM,
    )


def team_notice(*, text: str, key: str, ticket: Ticket | None = None) -> list[Delivery]:
    """Tell the team by email and on Slack (`team_targets`): an SLA breach, the schedule-health
    warning. `text` is the subject and the body; `key` names the cause (idempotent)."""
    targets = team_targets(key)
    if not targets:
        logger.warning("nobody to tell about %s: set SUPPORT_TEAM_EMAIL or SLACK_WEBHOOK_URL", key)
    return [
        delivery_create(
            channel=channel,
            recipient=recipient,
            body=slack_escape(text) if channel == DeliveryChannel.SLACK else text,
            subject=text,
            idempotency_key=idempotency_key,
            ticket=ticket,
        )
        for channel, recipient, idempotency_key in targets
    ]


def ticket_notice(
    *, ticket: Ticket, subject: str, body: str, key: str, message: Message | None = None
) -> list[Delivery]:
    """Tell whoever hears about `ticket` (`ticket_emails`, and Slack) of an event on it: a
    missed call, a voicemail, an inbound text. `key` names the event (idempotent)."""
    url = ticket_admin_url(ticket)
    deliveries = [
        delivery_create(
            channel=DeliveryChannel.EMAIL,
            recipient=address,
            subject=f"[{ticket.reference}] {subject}",
            body=f"{body}\n\nTicket {ticket.reference}: {url}\n",
            idempotency_key=f"{key}:email:{address.lower()}",
            ticket=ticket,
            message=message,
        )
        for address in ticket_emails(ticket)
    ]
    slack = team_slack()
    if slack is not None:
        deliveries.append(
            delivery_create(
                channel=DeliveryChannel.SLACK,
                recipient=slack,
                body=f":telephone_receiver: {slack_escape(subject)}: {slack_link(url, ticket.reference)}\n"
                f"{slack_escape(body[:500])}",
                idempotency_key=f"{key}:slack",
                ticket=ticket,
                message=message,
            )
        )
    if not deliveries:
        logger.warning(
            "nobody to notify about %s (%s): set SUPPORT_TEAM_EMAIL or SLACK_WEBHOOK_URL", key, subject
        )
    return deliveries


def assignment_notice(*, ticket: Ticket, change: TicketChange, actor: Actor) -> list[Delivery]:
    """Tell `ticket`'s new assignee that `actor` gave it to them (an agent, an API key,
    round-robin), as `change` (the history row) records: by email, and by a Slack direct
    message from the app when there is a bot token (to the member with their email address).
    Nobody is told when agents assign themselves, or when the ticket is unassigned. One
    notice per assignment and channel: the keys name the history row."""
    assignee = ticket.assignee if ticket.assignee_id else None
    if assignee is None or (actor.user is not None and actor.user.pk == assignee.pk):
        return []
    if not assignee.email:
        logger.warning("%s assigned to %s, who has no email address to tell", ticket.reference, assignee)
        return []
    url = ticket_admin_url(ticket)
    notices = [
        delivery_create(
            channel=DeliveryChannel.EMAIL,
            recipient=assignee.email,
            subject=f"[{ticket.reference}] Assigned to you: {ticket.subject}",
            body=f"{actor} assigned ticket {ticket.reference} to you.\n\n{ticket.subject}\n{url}\n",
            idempotency_key=f"ticket:{ticket.pk}:assigned:{change.pk}:email",
            ticket=ticket,
        )
    ]
    if settings.SLACK_BOT_TOKEN:
        notices.append(
            delivery_create(
                channel=DeliveryChannel.SLACK,
                recipient=assignee.email,
                body=f"{slack_escape(str(actor))} assigned {slack_link(url, ticket.reference)} to you: "
                f"{slack_escape(ticket.subject)}",
                payload={"direct": True},
                idempotency_key=f"ticket:{ticket.pk}:assigned:{change.pk}:slack",
                ticket=ticket,
            )
        )
    return notices
