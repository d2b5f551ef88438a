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

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from escalation.services import (
    incident_acknowledge_from_delivery,
    page_call_status_record,
    staff_text_receive,
)
from notifications import builders
from telephony.booking import WITHHELD, call_ticket, message_once, phone_ticket_for
from telephony.calls import CallStep, Dial, Goodbye, Voicemail
from telephony.media import mms_fetch_queue
from telephony.models import (
    FINAL_STATUSES,
    CallDirection,
    CallLog,
    CallOutcome,
    CallStatus,
    InboundSms,
    statuses_before,
)
from telephony.outcome import ANSWERED_DIAL_STATUSES, outcome_settle
from tickets.models import Message, MessageChannel, MessageDirection

logger = logging.getLogger(__name__)


def _note_once(call: CallLog, key: str, body: str) -> Message | None:
    return message_once(ticket=call_ticket(call), key=key, body=body, direction=MessageDirection.NOTE)


def _inbound_locked(call_sid: str) -> CallLog | None:
    return CallLog.objects.select_for_update().filter(call_sid=call_sid, parent__isnull=True).first()


# --- Dial result ---------------------------------------------------------------------------
@transaction.atomic
def call_dial_result(
    *, call_sid: str, attempt: int, dial_status: str, payload: dict[str, Any]
) -> tuple[CallLog | None, CallStep]:
    """Record the result of ringing `dial_targets[attempt]`; say what the caller hears next.

    Answered: thank and hang up. Not answered: ring the next number, then voicemail. The
    caller hanging up while it rang (canceled): hang up. The first report of an attempt
    stands, so a replay answers the same; the outcome is `outcome_settle`'s to decide.
    """
    call = _inbound_locked(call_sid)
    if call is None:
        logger.warning("dial result for unknown call %s ignored", call_sid)
        return None, Goodbye()
    key = str(attempt)
    dial_status = call.dial_results.get(key, dial_status)
    following = attempt + 1
    rings_next = (
        dial_status not in ANSWERED_DIAL_STATUSES
        and dial_status != "canceled"
        and following < len(call.dial_targets)
    )
    if key not in call.dial_results:
        call.dial_results = {**call.dial_results, key: dial_status}
        call.last_payload = payload
        fields = ["dial_results", "last_payload", "updated_at"]
        reached = following + 1 if rings_next else following  # how far down the list it got
        if call.dial_attempts < reached <= len(call.dial_targets):
            call.dial_attempts = reached
            fields.append("dial_attempts")
            if call.outcome != CallOutcome.ANSWERED:  # else it names who answered
                call.forwarded_to = call.dial_targets[reached - 1]
                fields.append("forwarded_to")
        call.save(update_fields=fields)
    outcome_settle(call)
    if dial_status in ANSWERED_DIAL_STATUSES:
        return call, Goodbye("Thank you for calling. Goodbye.")
    if dial_status == "canceled":
        return call, Goodbye()
    if rings_next:
        return call, Dial(number=call.dial_targets[following], attempt=following, retry=True)
    return call, Voicemail()


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
) -> bool:
    """Apply a status callback; False (and nothing written) for a call we never saw.

    A forwarded leg (it has a ParentCallSid we know) gets its own outbound CallLog on its
    first callback. Statuses only move forward; timestamps still fill in when late. The
    inbound call is row-locked before its leg (the order every callback and the booking
    take), and its `answered_at` is when the first forwarded leg was answered.
    """
    call = CallLog.objects.filter(call_sid=call_sid).first()
    if call is None and parent_call_sid:
        call = _leg_create(
            call_sid=call_sid, parent_sid=parent_call_sid, from_number=from_number, to_number=to_number
        )
    if call is None:
        logger.warning("status %r for unknown call %s ignored", status, call_sid)
        return False
    root = CallLog.objects.select_for_update().get(pk=call.parent_id or call.pk)
    at = timestamp or timezone.now()
    updates: dict[str, Any] = {"status": status, "last_payload": payload, "updated_at": timezone.now()}
    if status in FINAL_STATUSES:
        updates["ended_at"] = at
        if duration is not None:
            updates["duration"] = duration
    if answered_by:
        updates["answered_by"] = answered_by
    moved = CallLog.objects.filter(pk=call.pk, status__in=statuses_before(status)).update(**updates)
    if not moved:
        logger.info("stale status %r for call %s (already %s) ignored", status, call_sid, call.status)
    # Timestamps are facts whatever order they arrive in: fill in the ones still missing. An
    # inbound call is answered when a person answers a forwarded leg, not when Twilio picks up
    # to play the greeting.
    if status == CallStatus.IN_PROGRESS and not _is_inbound(call):
        CallLog.objects.filter(pk=call.pk, answered_at__isnull=True).update(answered_at=at)
        if _is_inbound(root):
            CallLog.objects.filter(Q(answered_at__isnull=True) | Q(answered_at__gt=at), pk=root.pk).update(
                answered_at=at
            )
    if root.pk == call.pk:  # a leg changes only the inbound call's answered_at, which deciding skips
        root.refresh_from_db()
    outcome_settle(root)
    return True


def _is_inbound(call: CallLog) -> bool:
    return call.direction == CallDirection.INBOUND and call.parent_id is None


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
    call = _inbound_locked(call_sid)
    if call is None:
        logger.warning("recording %s for unknown call %s ignored", recording_sid, call_sid)
        return None
    outcome_settle(call)  # a call with nobody to ring may have no other callback
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
    call = _inbound_locked(call_sid)
    if call is None:
        logger.warning("transcription %s for unknown call %s ignored", transcription_sid, call_sid)
        return None
    outcome_settle(call)
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
    duplicate: bool = False
    reply: str = ""  # what to text back: a staff command's answer, or a new ticket's reference


@transaction.atomic
def sms_inbound_receive(
    *, message_sid: str, from_number: str, to_number: str, body: str, media_urls: list[str]
) -> SmsResult:
    """An inbound text: a command from on-call staff (escalation answers it), or else a
    message on the sender's phone ticket. A replay of a MessageSid does nothing and gets the
    first reply (a concurrent copy waits on the unique MessageSid until the first commits)."""
    try:
        with transaction.atomic():
            receipt = InboundSms.objects.create(message_sid=message_sid, from_number=from_number)
    except IntegrityError:
        first = InboundSms.objects.filter(message_sid=message_sid).first()
        return SmsResult(duplicate=True, reply=first.reply if first else "")
    staff = staff_text_receive(from_number=from_number, text=body)
    if staff is not None:
        result = SmsResult(reply=staff.reply)
    else:
        result = _customer_text(
            message_sid=message_sid, from_number=from_number, body=body, media_urls=media_urls
        )
    if result.reply:
        receipt.reply = result.reply
        receipt.save(update_fields=["reply"])
    return result


@transaction.atomic
def sms_inbound_replay(
    *, message_sid: str, from_number: str, to_number: str, body: str, media_urls: list[str]
) -> SmsResult:
    """`sms_inbound_receive` for a text spooled during a database outage: its sender got no
    reply then, so the reply is texted through the outbox now, in the same transaction (once:
    a replayed MessageSid is a duplicate and texts nothing)."""
    result = sms_inbound_receive(
        message_sid=message_sid,
        from_number=from_number,
        to_number=to_number,
        body=body,
        media_urls=media_urls,
    )
    if result.reply and not result.duplicate:
        builders.text_back(
            number=from_number,
            text=result.reply,
            key=f"sms:{message_sid}:reply",
            ticket=result.message.ticket if result.message else None,
        )
    return result


def _customer_text(*, message_sid: str, from_number: str, body: str, media_urls: list[str]) -> SmsResult:
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
        mms_fetch_queue(message=message, message_sid=message_sid, media_urls=media_urls)
    builders.ticket_notice(
        ticket=ticket,
        subject=f"SMS from {from_number} ({ticket.reference})",
        body=text,
        key=f"sms:{message_sid}",
        message=message,
    )
    logger.info("SMS %s from %s added to ticket %s", message_sid, from_number, ticket.reference)
    reply = (
        f"Thanks, we got your message. Your ticket is {ticket.reference}; we will reply here."
        if created
        else ""
    )
    return SmsResult(message=message, reply=reply)


def page_keypress_receive(*, delivery_id: int, digits: str) -> Any:
    """The incident acknowledged by pressing 1 on paging call `delivery_id`, or None."""
    return incident_acknowledge_from_delivery(delivery_id=delivery_id, digits=digits)


def page_call_status_receive(*, delivery_id: int, status: str, answered_by: str) -> Any:
    """A status callback of paging call `delivery_id`: escalation records its outcome."""
    return page_call_status_record(delivery_id=delivery_id, status=status, answered_by=answered_by)
