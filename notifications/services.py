"""The outbox verbs: create a Delivery, send one, retry one, and re-queue stale ones.

Callers create deliveries with `delivery_create` inside their own transaction; the send
task is queued when that transaction commits. `delivery_send` is the only place that
talks to a channel adapter, and it claims the row first, so a redelivered or duplicated
task never sends twice.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from functools import lru_cache, partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from notifications.channels import ChannelDeferred, ChannelError, ChannelNotConfigured, get_adapter
from notifications.emails import delivery_render, email_payload, ticket_admin_url
from notifications.models import Delivery, DeliveryChannel, DeliveryStatus
from supporthub import metrics  # delivery counters and latency
from supporthub.exceptions import DomainError
from tickets.models import Message, Ticket

logger = logging.getLogger(__name__)

# Our Message-IDs look like <sh-ticket-42.reply.ab12cd34ef56@example.com>.
TICKET_MSGID_PREFIX = "sh-ticket-"
MAX_COUNTDOWN_SECONDS = 3000.0
_CHANNELS = frozenset(DeliveryChannel.values)  # the enum builds that list anew on each read


@dataclass(frozen=True)
class SendOutcome:
    """What `delivery_send` did. `retry_in` is set when the task should run again."""

    status: str
    retry_in: float | None = None
    claimed: bool = True


def delivery_new(
    *,
    channel: str,
    recipient: str,
    body: str,
    idempotency_key: str,
    subject: str = "",
    ticket: Ticket | None = None,
    message: Message | None = None,
    payload: dict | None = None,
) -> Delivery:
    """A pending Delivery, not yet saved (`delivery_save`, or `deliveries_save` with the
    others of the same cause).

    Raises DomainError for an unknown channel, empty recipient or empty key.
    """
    if channel not in _CHANNELS:
        raise DomainError(f"Unknown delivery channel {channel!r}.", field="channel")
    if not (recipient or "").strip():
        raise DomainError("A delivery needs a recipient.", field="recipient")
    if not idempotency_key:
        raise DomainError("A delivery needs an idempotency key.", field="idempotency_key")
    return Delivery(
        channel=channel,
        recipient=recipient.strip(),
        subject=subject[:255],
        body=body,
        payload=payload or {},
        ticket=ticket,
        message=message,
        idempotency_key=idempotency_key,
        max_attempts=settings.NOTIFICATIONS_MAX_ATTEMPTS,
        next_attempt_at=timezone.now(),
    )


def delivery_save(delivery: Delivery) -> Delivery:
    """Write a new Delivery and queue its send once the caller's transaction commits.

    Call it inside the transaction of the change that causes the notification. Idempotent:
    when a delivery with the same `idempotency_key` exists, that one is returned (and
    nothing is queued).
    """
    try:
        # A savepoint, so a duplicate key does not break the caller's transaction. Trying
        # the INSERT first keeps the common case (a new notification) to one statement.
        with transaction.atomic():
            delivery.save(force_insert=True)
    except IntegrityError:
        existing = Delivery.objects.filter(idempotency_key=delivery.idempotency_key).first()
        if existing is None:  # the IntegrityError was something else
            raise
        return existing
    deliveries_queue([delivery])
    return delivery


def delivery_create(**fields: Any) -> Delivery:
    """`delivery_save(delivery_new(**fields))`: a new pending Delivery, or the existing one
    with its idempotency key."""
    return delivery_save(delivery_new(**fields))


def deliveries_save(deliveries: list[Delivery]) -> list[Delivery]:
    """Write new deliveries in one INSERT and queue their sends once the caller's
    transaction commits; returns them, saved.

    For the notifications of a row written in the same transaction (a new ticket, a new
    message): their idempotency keys name it, so none exists yet, and a duplicate raises
    IntegrityError rather than returning the existing delivery as `delivery_save` does.
    """
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        deliveries_queue(deliveries)
    return deliveries


def deliveries_queue(deliveries: Sequence[Delivery]) -> None:
    """Queue the sends of `deliveries`, written together, once the caller's transaction
    commits: one task for all of them. A Celery publish costs a request more than the rest
    of a new ticket's notification work, and a worker sends several deliveries faster in
    one task than in one task each."""
    if deliveries:
        transaction.on_commit(partial(sends_publish, [delivery.pk for delivery in deliveries]))


def sends_publish(delivery_ids: list[int], countdown: float | None = None) -> bool:
    """Publish one task that sends `delivery_ids` (after `countdown` seconds); whether it
    was published. When the broker is down the rows stay pending, and the sweep
    (deliveries_requeue_stale) queues them later."""
    from notifications.tasks import send_deliveries

    try:
        send_deliveries.apply_async(args=(delivery_ids,), countdown=countdown)
    except Exception:  # kombu raises many types for an unreachable broker
        logger.warning("broker unavailable; deliveries %s left for the periodic sweep", delivery_ids)
        return False
    return True


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter for the `attempt`-th failure, never below Retry-After."""
    base = float(settings.NOTIFICATIONS_RETRY_BASE_SECONDS)
    cap = float(settings.NOTIFICATIONS_RETRY_MAX_SECONDS)
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not security
    if retry_after:
        # Honour the provider, but stay below the Redis visibility timeout (1 h).
        delay = max(delay, min(float(retry_after), MAX_COUNTDOWN_SECONDS))
    return round(delay, 3)


def delivery_send(*, delivery_id: int) -> SendOutcome:
    """Claim the delivery, send it through its channel, record the result.

    Returns what happened; never raises for provider errors. A delivery that is not
    pending and due (already sent, being sent by another worker, failed) is left alone.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        current = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        logger.info("delivery %s not claimed (status %s)", delivery_id, current or "missing")
        return SendOutcome(status=current or "missing", claimed=False)

    rendered: dict[str, Any] = {}  # a templated email's text and HTML, stored with the outcome
    try:
        rendered = delivery_render(delivery)
        provider_id = get_adapter(delivery.channel).send(delivery)
    except ChannelDeferred as exc:
        _record(
            delivery,
            rendered,
            status=DeliveryStatus.PENDING,
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now() + timedelta(seconds=exc.wait),
        )
        return SendOutcome(status=DeliveryStatus.PENDING, retry_in=exc.wait)
    except ChannelNotConfigured as exc:
        logger.warning(
            "delivery %s skipped (%s); would have sent %s to %s: subject=%r body=%r",
            delivery.pk, exc.reason, delivery.channel, delivery.recipient,
            delivery.subject, delivery.body[:500],
        )  # fmt: skip
        _record(delivery, rendered, status=DeliveryStatus.SKIPPED, last_error=exc.reason)
        return SendOutcome(status=DeliveryStatus.SKIPPED)
    except ChannelError as exc:
        return _record_failure(
            delivery, rendered, exc.reason, permanent=exc.permanent, retry_after=exc.retry_after
        )
    except Exception as exc:  # a bug or an unmapped library error: retry, keep the trace in logs
        logger.exception("delivery %s: unexpected error from the %s adapter", delivery.pk, delivery.channel)
        return _record_failure(
            delivery, rendered, f"unexpected error: {exc!r}"[:1000], permanent=False, retry_after=None
        )

    now = timezone.now()
    # Record a success even if the sweep re-queued the row meanwhile: the send happened.
    Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.SENT,
        provider_id=provider_id[:255],
        sent_at=now,
        last_error="",
        updated_at=now,
        **rendered,
    )
    logger.info("delivery %s sent by %s (%s)", delivery.pk, delivery.channel, provider_id)
    metrics.record_delivery_sent(
        channel=delivery.channel, latency_seconds=(now - delivery.created_at).total_seconds()
    )
    return SendOutcome(status=DeliveryStatus.SENT)


def _claim(delivery_id: int) -> Delivery | None:
    """Atomically move a due pending delivery to sending; return it, or None if not ours.

    One conditional UPDATE ... RETURNING (PostgreSQL and SQLite both have it): of two
    workers holding the same task, exactly one gets the row. The lease in
    next_attempt_at tells the sweep when a send has been lost.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS)
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in Delivery._meta.concrete_fields)
    # Only quoted identifiers from the model are interpolated; every value is a parameter.
    sql = (
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, next_attempt_at = %s, updated_at = %s "  # noqa: S608
        f"WHERE id = %s AND status = %s AND next_attempt_at <= %s RETURNING {columns}"
    )
    at = connection.ops.adapt_datetimefield_value
    params = [DeliveryStatus.SENDING, at(lease), at(now), delivery_id, DeliveryStatus.PENDING, at(now)]
    rows = list(Delivery.objects.raw(sql, params))
    return rows[0] if rows else None


def _record(delivery: Delivery, rendered: dict[str, Any], **fields: object) -> None:
    """Store an attempt's outcome `fields` (and what `delivery_render` rendered for it)."""
    fields.setdefault("updated_at", timezone.now())
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**rendered, **fields)


def _record_failure(
    delivery: Delivery, rendered: dict[str, Any], reason: str, *, permanent: bool, retry_after: float | None
) -> SendOutcome:
    attempts = delivery.attempts  # loaded after the claim incremented it
    if permanent or attempts >= delivery.max_attempts:
        why = "permanent error" if permanent else f"gave up after {attempts} attempts"
        logger.warning("delivery %s failed (%s): %s", delivery.pk, why, reason)
        _record(delivery, rendered, status=DeliveryStatus.FAILED, last_error=f"{reason} [{why}]")
        metrics.record_delivery_failed(channel=delivery.channel, final=True)
        return SendOutcome(status=DeliveryStatus.FAILED)
    delay = retry_delay(attempts, retry_after)
    metrics.record_delivery_failed(channel=delivery.channel, final=False)
    logger.info("delivery %s attempt %s failed, retry in %.1fs: %s", delivery.pk, attempts, delay, reason)
    _record(
        delivery,
        rendered,
        status=DeliveryStatus.PENDING,
        last_error=reason,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    return SendOutcome(status=DeliveryStatus.PENDING, retry_in=delay)


@transaction.atomic
def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Send a failed or skipped delivery again (admin "retry"), with a fresh set of attempts.

    Raises DomainError for a delivery that was sent or is being sent.
    """
    now = timezone.now()
    updated = Delivery.objects.filter(
        pk=delivery.pk, status__in=[DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.PENDING]
    ).update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    delivery.refresh_from_db()
    if not updated:
        raise DomainError(
            f"Delivery {delivery.pk} is {delivery.status}; only failed or skipped ones are retried."
        )
    deliveries_queue([delivery])
    return delivery


def deliveries_requeue_stale() -> int:
    """Re-queue deliveries whose task was lost; return how many were queued.

    Two cases: rows stuck in `sending` past their lease (a killed worker) go back to
    pending (or to failed when they used their last attempt); rows `pending` for longer
    than NOTIFICATIONS_REQUEUE_AFTER_SECONDS past their due time (the broker was down
    when they were queued) get a new task. A duplicate task is harmless: the claim makes
    it a no-op.
    """
    now = timezone.now()
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, next_attempt_at__lte=now)
    stuck.filter(attempts__gte=F("max_attempts")).update(
        status=DeliveryStatus.FAILED,
        last_error="worker lost while sending, no attempts left [gave up]",
        updated_at=now,
    )
    revived = stuck.update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS),
        last_error="worker lost while sending; re-queued",
        updated_at=now,
    )
    if revived:
        logger.warning("%s deliveries were stuck in sending; re-queued", revived)

    cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    ids = list(
        Delivery.objects.due(before=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.NOTIFICATIONS_SWEEP_BATCH]
    )
    queued: list[int] = []
    for delivery_id in ids:  # a task each: a backlog is sent by every worker process at once
        if not sends_publish([delivery_id]):
            break
        queued.append(delivery_id)
    if queued:
        # Due now, and not re-queued again before another REQUEUE_AFTER has passed.
        Delivery.objects.filter(pk__in=queued, status=DeliveryStatus.PENDING).update(next_attempt_at=now)
        logger.info("re-queued %s pending deliveries", len(queued))
    return len(queued)


# --- Notification builders: which deliveries a ticket event causes -----------------------
# Each is called inside the transaction of the event and returns the deliveries it made.
# Idempotency keys name the cause, so running a builder twice creates nothing new.


def _email_domain() -> str:
    return _domain_of(settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=8)
def _domain_of(sender: str) -> str:
    """The domain of a From address ("Name <a@b>"); parsing it was ~20 µs of every intake."""
    return parseaddr(sender)[1].rpartition("@")[2] or "supporthub.local"


def new_message_id(ticket: Ticket, kind: str) -> str:
    """A Message-ID that names the ticket, so a reply to it finds the ticket again."""
    return f"<{TICKET_MSGID_PREFIX}{ticket.pk}.{kind}.{uuid.uuid4().hex[:12]}@{_email_domain()}>"


def _thread_headers(ticket: Ticket, message_id: str) -> dict[str, str]:
    """Message-ID plus In-Reply-To/References pointing at the ticket's earlier emails."""
    if ticket.first_message is not None:  # created just now: that message is its only one
        external_id = ticket.first_message.external_id or ""
        earlier: list[str | None] = [external_id] if external_id.startswith("<") else []
    else:
        earlier = list(
            Message.objects.filter(ticket=ticket, external_id__startswith="<")
            .order_by("-created_at", "-id")
            .values_list("external_id", flat=True)[:10]
        )
    headers = {"Message-ID": message_id}
    if earlier:
        headers["In-Reply-To"] = str(earlier[0])
        headers["References"] = " ".join(str(item) for item in reversed(earlier))
    return headers


def _team_emails() -> list[str]:
    """SUPPORT_TEAM_EMAIL's addresses, each once (whatever its case)."""
    addresses = [item.strip() for item in settings.SUPPORT_TEAM_EMAIL.split(",") if item.strip()]
    unique: dict[str, str] = {}
    for address in addresses:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def _slack_delivery(
    *, key: str, text: str, ticket: Ticket, message: Message | None = None
) -> Delivery | None:
    """The (unsaved) Slack notification, or None when no Slack webhook is configured."""
    if not settings.SLACK_WEBHOOK_URL:
        return None
    return delivery_new(
        channel=DeliveryChannel.SLACK,
        recipient=settings.SLACK_CHANNEL or "slack-webhook",
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
    for address in _team_emails():
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
    link = f"<{ticket_admin_url(ticket)}|{ticket.reference}>"
    slack = _slack_delivery(
        key=f"ticket:{ticket.pk}:created:slack",
        text=f"New {ticket.priority_name} {ticket.channel} ticket {link}: {ticket.subject} (from {contact})",
        ticket=ticket,
        message=first,
    )
    if slack is not None:
        deliveries.append(slack)

    if ticket.channel in ("email", "chat", "web", "api") and contact.email and acknowledge:
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
                idempotency_key=f"ticket:{ticket.pk}:created:ack-email",
                ticket=ticket,
                message=first,
            )
        )
    elif ticket.channel == "phone" and contact.phone and acknowledge and twilio_configured():
        deliveries.append(
            delivery_new(
                channel=DeliveryChannel.SMS,
                recipient=contact.phone,
                body=(
                    f"{settings.APP_NAME}: we received your request {ticket.reference} "
                    f'"{ticket.subject[:60]}" and will get back to you soon.'
                ),
                idempotency_key=f"ticket:{ticket.pk}:created:ack-sms",
                ticket=ticket,
                message=first,
            )
        )
    return deliveries


def notify_inbound_message(message: Message) -> list[Delivery]:
    """A customer wrote again on a ticket: tell the assignee (or the team) and Slack."""
    ticket = message.ticket
    assignee_email = ticket.assignee.email if ticket.assignee_id and ticket.assignee else ""
    deliveries: list[Delivery] = []
    for address in [assignee_email] if assignee_email else _team_emails():
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
        text=f"New reply on <{ticket_admin_url(ticket)}|{ticket.reference}> from {ticket.contact}: "
        f"{message.body[:300]}",
        ticket=ticket,
        message=message,
    )
    if slack is not None:
        deliveries.append(delivery_save(slack))
    return deliveries


def reply_deliveries(message: Message) -> list[Delivery]:
    """The (unsaved) notification that sends an agent's outbound `message` to the contact
    through the ticket's channel; the caller writes it with the message (`message.pk` set)
    and queues it (deliveries_queue).

    Email replies are threaded (Message-ID, In-Reply-To, References) and `message.external_id`
    is set to our Message-ID, so the customer's answer lands on this ticket. Phone and SMS
    tickets get an SMS. Returns [] when the contact cannot be reached.
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
                body=f"[{ticket.reference}] {message.body}",
                idempotency_key=f"message:{message.pk}:reply:sms",
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
                "reply", headers, ticket=ticket, message=message, agent=message.author_name
            ),
            idempotency_key=f"message:{message.pk}:reply:email",
            ticket=ticket,
            message=message,
        )
    ]


def twilio_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER)
