"""Telephony verbs after a call comes in (dial results, status callbacks, voicemail), inbound
SMS and page key presses. The inbound call itself and its ticket: telephony/calls.py.

Every verb is idempotent on the provider's id (CallSid, RecordingSid, TranscriptionSid,
MessageSid) because Twilio retries webhooks, and call statuses only move forward because
its status callbacks arrive in any order. Nothing here calls a provider: team
notifications and incidents are rows written in the same transaction (outbox).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation.services import incident_acknowledge_from_delivery, staff_text_receive
from notifications import builders
from supporthub.tasks import enqueue_on_commit
from telephony.calls import (
    WITHHELD,
    CallStep,
    Dial,
    Goodbye,
    Voicemail,
    call_missed,
    call_ticket,
    message_once,
    phone_ticket_for,
)
from telephony.media import MMS_FETCH_TASK
from telephony.models import (
    FINAL_STATUSES,
    CallDirection,
    CallLog,
    CallOutcome,
    CallStatus,
    statuses_before,
)
from tickets.models import Message, MessageChannel, MessageDirection

logger = logging.getLogger(__name__)

ANSWERED_DIAL_STATUSES = frozenset({"completed", "answered"})


def _max_attempts(call: CallLog) -> int:
    return min(len(call.dial_targets), max(1, settings.TELEPHONY_DIAL_ATTEMPTS))


def _note_once(call: CallLog, key: str, body: str) -> Message | None:
    return message_once(ticket=call_ticket(call), key=key, body=body, direction=MessageDirection.NOTE)


# --- Dial result ---------------------------------------------------------------------------
@transaction.atomic
def call_dial_result(
    *, call_sid: str, attempt: int, dial_status: str, payload: dict[str, Any]
) -> tuple[CallLog | None, CallStep]:
    """Act on the result of ringing `dial_targets[attempt]`; say what the caller hears next.

    Answered: thank and hang up. Not answered: ring the next person once, then voicemail.
    The caller hanging up while it rang is an abandoned call. Every branch is safe to replay.
    """
    call = CallLog.objects.select_for_update().filter(call_sid=call_sid).first()
    if call is None:
        logger.warning("dial result for unknown call %s ignored", call_sid)
        return None, Goodbye()
    number = call.dial_targets[attempt] if attempt < len(call.dial_targets) else ""
    if dial_status in ANSWERED_DIAL_STATUSES:
        _outcome(call, CallOutcome.ANSWERED, payload, forwarded_to=number)
        _note_once(call, f"{call_sid}:answered", f"Call answered by {number or 'the team'}.")
        return call, Goodbye("Thank you for calling. Goodbye.")
    if dial_status == "canceled":
        _outcome(call, CallOutcome.ABANDONED, payload)
        call_missed(call, "The caller hung up before anyone answered.")
        return call, Goodbye()
    following = attempt + 1
    if following < _max_attempts(call):
        if call.dial_attempts < following + 1:
            call.dial_attempts = following + 1
            call.forwarded_to = call.dial_targets[following]
            call.save(update_fields=["dial_attempts", "forwarded_to", "updated_at"])
        return call, Dial(number=call.dial_targets[following], attempt=following, retry=True)
    _outcome(call, CallOutcome.VOICEMAIL, payload)
    tried = ", ".join(call.dial_targets[: attempt + 1]) or "nobody was on call"
    call_missed(call, f"Nobody answered ({dial_status}; rang {tried}). The caller was offered voicemail.")
    return call, Voicemail()


def _outcome(call: CallLog, outcome: str, payload: dict[str, Any] | None, forwarded_to: str = "") -> None:
    fields = ["updated_at"]
    # The first outcome stands, except that a Dial result saying "answered" corrects an
    # "abandoned" guessed from a status callback that overtook it.
    if not call.outcome or (outcome == CallOutcome.ANSWERED and call.outcome == CallOutcome.ABANDONED):
        call.outcome = outcome
        fields.append("outcome")
    if forwarded_to:
        call.forwarded_to = forwarded_to
        fields.append("forwarded_to")
    if payload is not None:
        call.last_payload = payload
        fields.append("last_payload")
    call.save(update_fields=fields)


# --- Status callbacks ----------------------------------------------------------------------
@transaction.atomic
def call_status_record(
    *,
    call_sid: str,
    status: str,
    parent_call_sid: str = "",
    from_number: str = "",
    to_number: str = "",
    duration: int | None = None,
    answered_by: str = "",
    timestamp: datetime | None = None,
    payload: dict[str, Any],
) -> CallLog | None:
    """Apply a status callback; None (and nothing written) for a call we never saw.

    A forwarded leg (it has a ParentCallSid we know) gets its own outbound CallLog on its
    first callback. Statuses only move forward; timestamps still fill in when late.
    """
    call = CallLog.objects.filter(call_sid=call_sid).first()
    if call is None and parent_call_sid:
        call = _leg_create(
            call_sid=call_sid, parent_sid=parent_call_sid, from_number=from_number, to_number=to_number
        )
    if call is None:
        logger.warning("status %r for unknown call %s ignored", status, call_sid)
        return None
    at = timestamp or timezone.now()
    now = timezone.now()
    updates: dict[str, Any] = {"status": status, "last_payload": payload, "updated_at": now}
    if status in FINAL_STATUSES:
        updates["ended_at"] = at
        if duration is not None:
            updates["duration"] = duration
    if answered_by:
        updates["answered_by"] = answered_by
    moved = CallLog.objects.filter(pk=call.pk, status__in=statuses_before(status)).update(**updates)
    if not moved:
        logger.info("stale status %r for call %s (already %s) ignored", status, call_sid, call.status)
    # Timestamps are facts whatever order they arrive in: fill in the ones still missing.
    if status == CallStatus.IN_PROGRESS:
        CallLog.objects.filter(pk=call.pk, answered_at__isnull=True).update(answered_at=at)
    if (
        moved
        and status in FINAL_STATUSES
        and call.direction == CallDirection.INBOUND
        and call.parent_id is None
    ):
        _hung_up(call.pk)
    call.refresh_from_db()
    return call


def _hung_up(call_pk: int) -> None:
    """An inbound call ended with no outcome: the caller hung up before anyone answered.

    Covers hang-ups during the greeting or while it rang, when Twilio may never post a Dial
    result we could act on. A forwarded leg that was answered means it was not missed.
    """
    call = CallLog.objects.select_for_update().get(pk=call_pk)
    if call.outcome or call.legs.filter(answered_at__isnull=False).exists():
        return
    _outcome(call, CallOutcome.ABANDONED, None)
    call_missed(call, "The caller hung up before anyone answered.")


def _leg_create(*, call_sid: str, parent_sid: str, from_number: str, to_number: str) -> CallLog | None:
    # Locked so that a leg is never logged while the parent is being booked on a ticket:
    # the booking either moves this leg too or has committed the ticket the leg copies.
    parent = CallLog.objects.select_for_update().filter(call_sid=parent_sid).first()
    if parent is None:
        return None
    try:
        with transaction.atomic():
            return CallLog.objects.create(
                call_sid=call_sid,
                parent=parent,
                direction=CallDirection.OUTBOUND,
                from_number=from_number or parent.from_number,
                to_number=to_number,
                status=CallStatus.QUEUED,
                started_at=timezone.now(),
                ticket_id=parent.ticket_id,
            )
    except IntegrityError:
        return CallLog.objects.filter(call_sid=call_sid).first()


# --- Voicemail -----------------------------------------------------------------------------
@transaction.atomic
def call_recording_receive(
    *,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    recording_status: str,
    recording_duration: int | None,
    payload: dict[str, Any],
) -> CallLog | None:
    """Attach a voicemail to the call's ticket (once per RecordingSid) and tell the team.

    Called by both the <Record> action and the recording-status callback, whichever comes
    first; an empty or failed recording becomes a note instead.
    """
    call = CallLog.objects.select_for_update().filter(call_sid=call_sid).first()
    if call is None:
        logger.warning("recording %s for unknown call %s ignored", recording_sid, call_sid)
        return None
    if recording_status in ("absent", "failed") or (
        recording_duration is not None and recording_duration <= 0
    ):
        text = "the recording failed" if recording_status == "failed" else "the caller left no message"
        _note_once(call, f"{recording_sid}:empty", f"No voicemail: {text}.")
        return call
    call.recording_sid = recording_sid
    call.recording_url = recording_url
    if recording_duration is not None:
        call.recording_duration = recording_duration
    call.last_payload = payload
    call.save(
        update_fields=["recording_sid", "recording_url", "recording_duration", "last_payload", "updated_at"]
    )
    ticket = call_ticket(call)
    length = f" ({recording_duration // 60}:{recording_duration % 60:02d})" if recording_duration else ""
    message = message_once(
        ticket=ticket,
        key=recording_sid,
        body=f"Voicemail from {call.from_number or WITHHELD}{length}: {recording_url}.mp3",
        direction=MessageDirection.INBOUND,
        channel=MessageChannel.PHONE,
    )
    if message is not None:
        builders.ticket_notice(
            ticket=ticket,
            subject=f"New voicemail from {call.from_number or WITHHELD} ({ticket.reference})",
            body=message.body,
            key=f"voicemail:{recording_sid}",
            message=message,
        )
    return call


@transaction.atomic
def call_transcription_receive(
    *,
    call_sid: str,
    transcription_sid: str,
    transcription_status: str,
    text: str,
    payload: dict[str, Any],
) -> CallLog | None:
    """Store a voicemail's transcript on the call and add it to the ticket (once)."""
    call = CallLog.objects.select_for_update().filter(call_sid=call_sid).first()
    if call is None:
        logger.warning("transcription %s for unknown call %s ignored", transcription_sid, call_sid)
        return None
    if transcription_status != "completed" or not text.strip():
        _note_once(
            call, transcription_sid, "The voicemail could not be transcribed; listen to the recording."
        )
        return call
    call.transcript = text.strip()
    call.last_payload = payload
    call.save(update_fields=["transcript", "last_payload", "updated_at"])
    message_once(
        ticket=call_ticket(call),
        key=transcription_sid,
        body=f"Voicemail transcript: “{call.transcript}”",
        direction=MessageDirection.INBOUND,
        channel=MessageChannel.PHONE,
    )
    return call


# --- SMS and pages -------------------------------------------------------------------------
@dataclass(frozen=True)
class SmsResult:
    message: Message | None = None
    new_ticket: bool = False
    duplicate: bool = False
    staff_reply: str = ""  # the answer to a command from on-call staff (their texts are no messages)


@transaction.atomic
def sms_inbound_receive(
    *, message_sid: str, from_number: str, to_number: str, body: str, media_urls: list[str]
) -> SmsResult:
    """An inbound text: a command from on-call staff (escalation answers it), or else a
    message on the sender's phone ticket."""
    if Message.objects.filter(external_id=message_sid).exists():
        return SmsResult(duplicate=True)
    staff = staff_text_receive(from_number=from_number, text=body)
    if staff is not None:
        return SmsResult(staff_reply=staff.reply)
    ticket, created = phone_ticket_for(number=from_number, name="", subject=f"SMS from {from_number}")
    text = body.strip() or "(empty message)"
    if media_urls:
        text += "\n\nAttachments:\n" + "\n".join(media_urls)
    message = message_once(
        ticket=ticket,
        key=message_sid,
        body=text,
        direction=MessageDirection.INBOUND,
        channel=MessageChannel.SMS,
    )
    if message is None:
        return SmsResult(duplicate=True)
    if media_urls:  # the files themselves, fetched by a worker
        enqueue_on_commit(MMS_FETCH_TASK, message.pk, message_sid, media_urls)
    builders.ticket_notice(
        ticket=ticket,
        subject=f"SMS from {from_number} ({ticket.reference})",
        body=text,
        key=f"sms:{message_sid}",
        message=message,
    )
    logger.info("SMS %s from %s added to ticket %s", message_sid, from_number, ticket.reference)
    return SmsResult(message=message, new_ticket=created)


def page_keypress_receive(*, delivery_id: int, digits: str) -> Any:
    """The incident acknowledged by pressing 1 on paging call `delivery_id`, or None."""
    return incident_acknowledge_from_delivery(delivery_id=delivery_id, digits=digits)
