"""The outbox: create a Delivery, claim and send one, retry one, re-queue stale ones.

Callers create deliveries with `delivery_create` inside their own transaction; the send
task is queued when that transaction commits. `delivery_send` is the only place that
talks to a channel adapter, and it claims the row first, so a redelivered or duplicated
task never sends twice.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.channels import ChannelDeferred, ChannelError, ChannelNotConfigured, get_adapter
from notifications.emails import delivery_render
from notifications.lanes import lanes_shared
from notifications.models import Delivery, DeliveryAudience, DeliveryChannel, DeliveryStatus
from supporthub import metrics  # delivery counters and latency
from supporthub.exceptions import DomainError
from supporthub.tasks import publish
from tickets.models import Message, Ticket

logger = logging.getLogger(__name__)

MAX_COUNTDOWN_SECONDS = 3000.0
SEND_TASK = "notifications.send_deliveries"
# Deliveries per send task when many are queued together (sends_batched): enough to make a
# publish cheap per delivery, few enough that every worker process gets a share at once.
SEND_BATCH = 25
_CHANNELS = frozenset(DeliveryChannel.values)  # the enum builds that list anew on each read
# Channels whose adapters may send from several threads at once (each thread has its own HTTP
# client); email shares one SMTP connection per process.
PARALLEL_CHANNELS = _CHANNELS - {DeliveryChannel.EMAIL}
_batched: ContextVar[list[int] | None] = ContextVar("outbox_sends_batched", default=None)


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
    audience: str = DeliveryAudience.TEAM,
) -> Delivery:
    """A pending Delivery, not yet saved (`delivery_save`, or `deliveries_save` with the
    others of the same cause). `audience` decides how it is retried (`retry_window`).

    Raises DomainError for an unknown channel, empty recipient or empty key.
    """
    if channel not in _CHANNELS:
        raise DomainError(f"Unknown delivery channel {channel!r}.", field="channel")
    if not (recipient or "").strip():
        raise DomainError("A delivery needs a recipient.", field="recipient")
    if not idempotency_key:
        raise DomainError("A delivery needs an idempotency key.", field="idempotency_key")
    now = timezone.now()
    return Delivery(
        channel=channel,
        recipient=recipient.strip(),
        subject=subject[:255],
        body=body,
        payload=payload or {},
        ticket=ticket,
        message=message,
        idempotency_key=idempotency_key,
        audience=audience,
        retry_until=now + retry_window(audience),
        next_attempt_at=now,
    )


def retry_window(audience: str) -> timedelta:
    """How long transient failures of a delivery for `audience` are retried: customer
    messages NOTIFICATIONS_RETRY_WINDOW_CUSTOMER_SECONDS, the rest the team's window (a page
    stops earlier, when its incident is acknowledged or resolved: `pages_stop`)."""
    if audience == DeliveryAudience.CUSTOMER:
        return timedelta(seconds=settings.NOTIFICATIONS_RETRY_WINDOW_CUSTOMER_SECONDS)
    return timedelta(seconds=settings.NOTIFICATIONS_RETRY_WINDOW_TEAM_SECONDS)


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
    commits: one task for all of them (inside `sends_batched`, with the rest of the block's).
    A Celery publish costs a request more than the rest of a new ticket's notification work,
    and a worker sends several deliveries faster in one task than in one task each."""
    if not deliveries:
        return
    ids = [delivery.pk for delivery in deliveries]
    collected = _batched.get()
    if collected is not None:
        collected.extend(ids)
    else:
        transaction.on_commit(partial(sends_publish, ids))


@contextmanager
def sends_batched() -> Iterator[None]:
    """Collect the sends that `deliveries_queue` queues inside the block, and publish them
    once the caller's transaction commits, SEND_BATCH deliveries per task (a mass outage's
    pages, one publish each, took seconds). Use it inside the transaction that writes the
    deliveries; a nested block leaves the publishing to the outer one.

    A delivery whose savepoint rolled back is published anyway and found missing by the
    task: a no-op. When the transaction rolls back, nothing is published.
    """
    if _batched.get() is not None:
        yield
        return
    collected: list[int] = []
    token = _batched.set(collected)
    try:
        yield
    finally:
        _batched.reset(token)
        if collected:
            transaction.on_commit(partial(_publish_in_batches, collected))


def _publish_in_batches(delivery_ids: list[int]) -> None:
    for start in range(0, len(delivery_ids), SEND_BATCH):
        if not sends_publish(delivery_ids[start : start + SEND_BATCH]):
            break  # the broker is down: the sweep queues the rest


def sends_publish(delivery_ids: list[int], countdown: float | None = None) -> bool:
    """Publish one task that sends `delivery_ids` (after `countdown` seconds); whether it
    was published. When the broker is down the rows stay pending, and the sweep
    (deliveries_requeue_stale) queues them later."""
    return publish(SEND_TASK, list(delivery_ids), countdown=countdown)


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
    claimed = _claim(delivery_id)
    return _deliver(claimed) if claimed else _not_claimed(delivery_id)


def _not_claimed(delivery_id: int) -> SendOutcome:
    current = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
    logger.info("delivery %s not claimed (status %s)", delivery_id, current or "missing")
    return SendOutcome(status=current or "missing", claimed=False)


def _deliver(delivery: Delivery) -> SendOutcome:
    """Send a claimed delivery and record the outcome in a statement of its own, as soon as
    the channel has answered."""
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
        return _record_failure(delivery, rendered, exc)
    except Exception as exc:  # a bug or an unmapped library error: retry, keep the trace in logs once
        log = logger.exception if delivery.attempts == 1 else logger.warning
        log("delivery %s: unexpected error from the %s adapter: %r", delivery.pk, delivery.channel, exc)
        return _record_failure(delivery, rendered, ChannelError(f"unexpected error: {exc!r}"[:1000]))

    now = timezone.now()
    # Record a success even if the sweep re-queued the row meanwhile: the send happened. After
    # an unanswered attempt it may have arrived twice: "sent, unconfirmed".
    Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.UNCONFIRMED if delivery.unconfirmed_at else DeliveryStatus.SENT,
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


def deliveries_send(delivery_ids: Sequence[int]) -> list[str]:
    """Send the deliveries written together; their statuses. A delivery that must wait (a
    transient error, the channel's pacing) is queued again on its own, after its delay.

    The HTTP channels' deliveries go out NOTIFICATIONS_SEND_THREADS at a time: the task's
    thread and the process's lanes (`notifications.lanes`) each claim the next one, send it
    and record its outcome as soon as the send returns, then take the next. So a killed
    worker leaves at most the sends in flight unrecorded (as one by one would), and no
    claimed row it had not started. Emails (one SMTP connection per process) and everything
    sent inside a transaction (other threads would not see its rows) go one by one in this
    thread.
    """
    ids = list(delivery_ids)
    width = 1 if connection.in_atomic_block else settings.NOTIFICATIONS_SEND_THREADS
    parallel = set(
        Delivery.objects.filter(pk__in=ids, channel__in=PARALLEL_CHANNELS).values_list("pk", flat=True)
    )
    side_by_side = [pk for pk in ids if pk in parallel]
    outcomes = dict(zip(side_by_side, lanes_shared().map(_send, side_by_side, width=width), strict=True))
    statuses = []
    for delivery_id in ids:
        outcome = outcomes.get(delivery_id) or delivery_send(delivery_id=delivery_id)
        if outcome.retry_in is not None:
            sends_publish([delivery_id], countdown=outcome.retry_in)  # failed: the sweep has it
        statuses.append(outcome.status)
    return statuses


def _send(delivery_id: int) -> SendOutcome:
    return delivery_send(delivery_id=delivery_id)


def _claim(delivery_id: int) -> Delivery | None:
    """Atomically move the delivery to sending if it is pending and due; it, or None when it
    is not ours.

    One conditional UPDATE ... RETURNING (PostgreSQL and SQLite both have it): of two
    workers holding the same task, exactly one gets the row. The lease in next_attempt_at
    tells the sweep when a send has been lost.
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
    return next(iter(Delivery.objects.raw(sql, params)), None)


def _record(delivery: Delivery, rendered: dict[str, Any], **fields: object) -> None:
    """Store an attempt's outcome `fields` (and what `delivery_render` rendered for it)."""
    fields.setdefault("updated_at", timezone.now())
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**rendered, **fields)


def _record_failure(delivery: Delivery, rendered: dict[str, Any], exc: ChannelError) -> SendOutcome:
    """Record a failed attempt: failed for a permanent error or once the retry window has
    passed; otherwise pending until the next attempt (a 429 uses no attempt and waits the
    provider's Retry-After). An unanswered attempt (`exc.unconfirmed`) ends a customer
    message as "sent, unconfirmed", never sent twice; anything else is sent again."""
    now = timezone.now()
    attempts = delivery.attempts  # loaded after the claim incremented it
    fields: dict[str, Any] = {}
    if exc.unconfirmed and not exc.permanent:
        if delivery.audience == DeliveryAudience.CUSTOMER:
            logger.warning("delivery %s unconfirmed, not sent again: %s", delivery.pk, exc.reason)
            reason = (
                f"{exc.reason} [unconfirmed: the provider may have it; customer messages are not sent twice]"
            )
            _record(
                delivery, rendered, status=DeliveryStatus.UNCONFIRMED, unconfirmed_at=now, last_error=reason
            )
            return SendOutcome(status=DeliveryStatus.UNCONFIRMED)
        delivery.unconfirmed_at = fields["unconfirmed_at"] = delivery.unconfirmed_at or now
    if exc.permanent or now >= delivery.retry_until:
        why = "permanent error" if exc.permanent else f"gave up after {attempts} attempts"
        if delivery.unconfirmed_at:
            why += "; an earlier attempt went unanswered and may have arrived"
        logger.warning("delivery %s failed (%s): %s", delivery.pk, why, exc.reason)
        _record(
            delivery, rendered, status=DeliveryStatus.FAILED, last_error=f"{exc.reason} [{why}]", **fields
        )
        metrics.record_delivery_failed(channel=delivery.channel, final=True)
        return SendOutcome(status=DeliveryStatus.FAILED)
    if exc.rate_limited:  # the provider's wait, not a failure of ours: no attempt used
        delay = min(exc.retry_after or retry_delay(attempts), MAX_COUNTDOWN_SECONDS)
        fields["attempts"] = F("attempts") - 1
    else:
        delay = retry_delay(attempts, exc.retry_after)
    # The last attempt is at the end of the window at the latest.
    delay = round(min(delay, (delivery.retry_until - now).total_seconds()), 3)
    metrics.record_delivery_failed(channel=delivery.channel, final=False)
    logger.info("delivery %s attempt %s failed, retry in %.1fs: %s", delivery.pk, attempts, delay, exc.reason)
    _record(
        delivery,
        rendered,
        status=DeliveryStatus.PENDING,
        last_error=exc.reason,
        next_attempt_at=now + timedelta(seconds=delay),
        **fields,
    )
    return SendOutcome(status=DeliveryStatus.PENDING, retry_in=delay)


@transaction.atomic
def delivery_retry(*, delivery: Delivery, resend_unconfirmed: bool = False) -> Delivery:
    """Send a failed or skipped delivery again (admin "retry"), with a fresh retry window.

    A customer message that may already have arrived (an unanswered attempt) is sent again
    only with `resend_unconfirmed=True`: the customer may get it twice. Raises DomainError for
    a delivery that was sent or is being sent, and for such a message without that consent.
    """
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    retryable = [DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.PENDING]
    unconfirmed_customer = delivery.audience == DeliveryAudience.CUSTOMER and delivery.unconfirmed_at
    if unconfirmed_customer:
        if not resend_unconfirmed:
            raise DomainError(
                f"Delivery {delivery.pk} to {delivery.recipient} may already have reached the customer "
                "(an attempt went unanswered after it was sent); sending it again needs an explicit "
                "confirmation, since they may get it twice.",
                code="unconfirmed",
            )
        retryable.append(DeliveryStatus.UNCONFIRMED)
    if delivery.status not in retryable:
        raise DomainError(
            f"Delivery {delivery.pk} is {delivery.status}; only failed or skipped ones are retried."
        )
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        retry_until=now + retry_window(delivery.audience),
        updated_at=now,
    )
    delivery.refresh_from_db()
    deliveries_queue([delivery])
    return delivery


def pages_stop(*, incident_id: int, reason: str) -> int:
    """Stop retrying the pages of an incident that no longer needs them (acknowledged or
    resolved): its pending pages become skipped with `reason`; returns how many."""
    return Delivery.objects.filter(
        audience=DeliveryAudience.PAGE, status=DeliveryStatus.PENDING, payload__incident=incident_id
    ).update(status=DeliveryStatus.SKIPPED, last_error=reason, updated_at=timezone.now())


def deliveries_requeue_stale() -> int:
    """Re-queue deliveries whose task was lost; return how many were queued.

    Two cases: rows stuck in `sending` past their lease (a killed worker, which may have
    handed the message over) are unconfirmed: customer messages end "sent, unconfirmed",
    others go back to pending (or to failed past their retry window); rows `pending` for
    longer than NOTIFICATIONS_REQUEUE_AFTER_SECONDS past their due time (the broker was down
    when they were queued) get a new task. A duplicate task is harmless: the claim makes it
    a no-op.
    """
    now = timezone.now()
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, next_attempt_at__lte=now)
    lost = "worker lost while sending; the provider may have it"
    stuck.filter(audience=DeliveryAudience.CUSTOMER).update(
        status=DeliveryStatus.UNCONFIRMED,
        unconfirmed_at=now,
        last_error=f"{lost} [unconfirmed: customer messages are not sent twice]",
        updated_at=now,
    )
    stuck.filter(retry_until__lte=now).update(
        status=DeliveryStatus.FAILED,
        unconfirmed_at=Coalesce("unconfirmed_at", Value(now)),
        last_error=f"{lost} [gave up: retry window over]",
        updated_at=now,
    )
    revived = stuck.update(
        status=DeliveryStatus.PENDING,
        unconfirmed_at=Coalesce("unconfirmed_at", Value(now)),
        next_attempt_at=now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS),
        last_error=f"{lost}; re-queued",
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
