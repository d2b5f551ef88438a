"""Twilio webhooks: check the signature, validate the parameters, call a service, answer TwiML.

Every endpoint is POST, form-encoded and signed (X-Twilio-Signature over PUBLIC_BASE_URL +
path + query string + the sorted parameters). Refusals: 403 for a missing or invalid
signature or when TWILIO_AUTH_TOKEN is not set; 400 with a JSON body naming each bad
parameter. Nothing is written in either case.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import serializers

from notifications.channels.voice import DEFAULT_PROMPT
from supporthub import metrics  # webhook signature failures
from supporthub.api.errors import _flatten
from supporthub.exceptions import DomainError
from telephony import calls, oncall, params, services, spool
from telephony import twilio as twiml
from telephony.calls import CallStep, Dial, Goodbye, Voicemail
from telephony.outcome import ANSWERED_DIAL_STATUSES

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


# --- URLs as Twilio sees them ----------------------------------------------------------------
def public_url(name: str, **query: Any) -> str:
    """Absolute public URL of the webhook `name`, as Twilio must request (and sign) it."""
    url = f"{settings.PUBLIC_BASE_URL}/{_path(name)}"
    return f"{url}?{urlencode(query)}" if query else url


@functools.cache
def _path(name: str) -> str:
    """The webhook's path below the script prefix (the URLconf does not change at runtime;
    a reverse() was a twentieth of the inbound-call webhook's CPU)."""
    return reverse(name).removeprefix(get_script_prefix())


def requested_public_url(request: HttpRequest) -> str:
    """The URL Twilio requested: PUBLIC_BASE_URL, this path and the raw query string."""
    url = settings.PUBLIC_BASE_URL + request.path_info
    query = request.META.get("QUERY_STRING", "")
    return f"{url}?{query}" if query else url


# --- Guards --------------------------------------------------------------------------------
def _refuse(status: int, detail: str, code: str, errors: dict[str, Any] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def twilio_webhook(view: View) -> View:
    """Accept only POSTs signed by Twilio with our auth token; refuse everything else."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            logger.error(
                "Twilio webhook %s refused: TWILIO_AUTH_TOKEN is not set, so the request's signature "
                "cannot be checked. Set TWILIO_AUTH_TOKEN (and PUBLIC_BASE_URL) to accept Twilio webhooks.",
                request.path,
            )
            return _refuse(
                403, "Twilio webhooks are disabled: TWILIO_AUTH_TOKEN is not set.", "webhooks_disabled"
            )
        signature = request.headers.get(twiml.SIGNATURE_HEADER, "")
        url = requested_public_url(request)
        if not twiml.signature_is_valid(auth_token=token, url=url, params=request.POST, signature=signature):
            logger.warning(
                "Twilio webhook refused: %s X-Twilio-Signature for %s (if Twilio calls another URL, "
                "fix PUBLIC_BASE_URL)",
                "invalid" if signature else "missing",
                url,
            )
            metrics.record_webhook_signature_failure(provider="twilio")
            return _refuse(403, "Missing or invalid X-Twilio-Signature.", "invalid_signature")
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return _refuse(400, f"Invalid input: {exc.field}.", exc.code, {exc.field: [exc.message]})

    return wrapper


def _validated(
    serializer_class: type[serializers.Serializer], request: HttpRequest
) -> dict[str, Any] | JsonResponse:
    data = request.POST.dict()
    # Ids carried in our own action URLs; the query string is covered by the signature.
    data.update({key: request.GET[key] for key in ("attempt", "delivery") if key in request.GET})
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    errors = _flatten(serializer.errors)
    logger.warning("Twilio webhook %s: invalid parameters %s", request.path, sorted(errors))
    return _refuse(400, f"Invalid input: {', '.join(errors)}.", "invalid", errors)


def _payload(request: HttpRequest) -> dict[str, str]:
    """The raw callback parameters, storable anywhere (PostgreSQL refuses NUL in text)."""
    return {key: str(value).replace("\x00", "")[:2000] for key, value in request.POST.items()}


def _xml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml; charset=utf-8")


# --- The call flow -------------------------------------------------------------------------
def _render(call_sid: str, step: CallStep) -> str:
    if isinstance(step, Dial):
        greeting = settings.TELEPHONY_GREETING if step.attempt == 0 else ""
        if step.retry:
            greeting = "Please hold while we try another colleague."
        return twiml.voice_dial(
            greeting=greeting,
            number=step.number,
            timeout=settings.TELEPHONY_RING_SECONDS,
            action_url=public_url("telephony:voice-dial", attempt=step.attempt),
            status_callback_url=public_url("telephony:voice-status"),
        )
    if isinstance(step, Voicemail):
        return twiml.voice_voicemail(
            prompt=settings.TELEPHONY_VOICEMAIL_PROMPT,
            max_length=settings.TELEPHONY_VOICEMAIL_MAX_SECONDS,
            action_url=public_url("telephony:voice-recording"),
            recording_status_url=public_url("telephony:voice-recording"),
            transcribe_url=public_url("telephony:voice-transcription"),
        )
    assert isinstance(step, Goodbye)
    return twiml.voice_goodbye(step.text)


def _spool(kind: str, **kwargs: Any) -> None:
    """Keep a callback the database could not take; it is replayed when the database is back."""
    try:
        spool.spool_write(kind, **kwargs)
    except OSError:
        logger.exception("database unreachable and the callback spool unwritable: %s callback lost", kind)


def _replay_waiting() -> None:
    """Replay this host's spool (one directory read when it is empty)."""
    if spool.spool_waiting():
        try:
            spool.spool_drain()
        except Exception:  # the spool must never cost a caller their call
            logger.exception("replaying the callback spool failed; beat tries again")


def _receive(kind: str, service: Callable[..., object], **kwargs: Any) -> None:
    """Hand a callback whose answer needs nothing from the database to `service`.

    While callbacks wait in the spool this one joins them (a recording must not overtake the
    call it belongs to) and the spool is replayed; with the database down it is spooled.
    """
    if spool.spool_waiting():
        _spool(kind, **kwargs)
        _replay_waiting()
        return
    try:
        service(**kwargs)
    except spool.DATABASE_DOWN:
        _spool(kind, **kwargs)


@twilio_webhook
def voice(request: HttpRequest) -> HttpResponse:
    """An inbound call: log it and ring whoever is on call (its ticket follows a moment later).

    With the database unreachable the call is put through to SUPPORT_FORWARD_NUMBER (then
    voicemail) and spooled (telephony.spool); a call after the outage replays the spool.
    """
    data = _validated(params.VoiceParams, request)
    if isinstance(data, JsonResponse):
        return data
    inbound: dict[str, Any] = {
        "call_sid": data["CallSid"],
        "from_number": data["From"],
        "to_number": data["To"],
        "caller_name": data["CallerName"],
        "payload": _payload(request),
    }
    try:
        call, step = calls.call_inbound_receive(**inbound)
    except spool.DATABASE_DOWN:
        forward = oncall.forward_number()
        targets = [forward] if forward and forward != data["From"] else []
        _spool("voice", dial_targets=targets, received_at=timezone.now(), **inbound)
        outage_step: CallStep = Dial(number=forward, attempt=0) if targets else Voicemail()
        return _xml(_render(data["CallSid"], outage_step))
    _replay_waiting()
    return _xml(_render(call.call_sid, step))


@twilio_webhook
def voice_dial(request: HttpRequest) -> HttpResponse:
    """The <Dial> action: answered → goodbye; otherwise the next person, then voicemail."""
    data = _validated(params.DialParams, request)
    if isinstance(data, JsonResponse):
        return data
    result: dict[str, Any] = {
        "call_sid": data["CallSid"],
        "attempt": data["attempt"],
        "dial_status": data["DialCallStatus"],
        "payload": _payload(request),
    }
    try:
        _, step = services.call_dial_result(**result)
    except spool.DATABASE_DOWN:
        _spool("dial", **result)
        answered = data["DialCallStatus"] in ANSWERED_DIAL_STATUSES
        step = Goodbye("Thank you for calling. Goodbye.") if answered else Voicemail()
    return _xml(_render(data["CallSid"], step))


# Status callback events that Twilio names differently from call statuses.
_STATUS_ALIASES = {"initiated": "queued", "answered": "in-progress"}


def _timestamp(value: str) -> Any:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


@twilio_webhook
def voice_status(request: HttpRequest) -> HttpResponse:
    """A call status callback (the inbound call or a forwarded leg). Unknown calls are ignored."""
    data = _validated(params.StatusParams, request)
    if isinstance(data, JsonResponse):
        return data
    status: dict[str, Any] = {
        "call_sid": data["CallSid"],
        "status": _STATUS_ALIASES.get(data["CallStatus"], data["CallStatus"]),
        "parent_call_sid": data["ParentCallSid"],
        "from_number": data["From"],
        "to_number": data["To"],
        "duration": data.get("CallDuration"),
        "answered_by": data["AnsweredBy"],
        "timestamp": _timestamp(data["Timestamp"]) or timezone.now(),
        "payload": _payload(request),
    }
    _receive("status", services.call_status_record, **status)
    return _xml(twiml.empty_voice())


@twilio_webhook
def voice_recording(request: HttpRequest) -> HttpResponse:
    """The <Record> action and its recording-status callback: the voicemail joins the ticket."""
    data = _validated(params.RecordingParams, request)
    if isinstance(data, JsonResponse):
        return data
    _receive(
        "recording",
        services.call_recording_receive,
        call_sid=data["CallSid"],
        recording_sid=data["RecordingSid"],
        recording_url=data["RecordingUrl"],
        recording_status=data["RecordingStatus"],
        recording_duration=data.get("RecordingDuration"),
        payload=_payload(request),
    )
    if "RecordingStatus" in request.POST:  # the status callback: Twilio ignores the body
        return _xml(twiml.empty_voice())
    return _xml(
        twiml.voice_goodbye("Thank you. We have your message and will get back to you soon. Goodbye.")
    )


@twilio_webhook
def voice_transcription(request: HttpRequest) -> HttpResponse:
    """The voicemail transcript: stored on the call and added to the ticket."""
    data = _validated(params.TranscriptionParams, request)
    if isinstance(data, JsonResponse):
        return data
    _receive(
        "transcription",
        services.call_transcription_receive,
        call_sid=data["CallSid"],
        transcription_sid=data["TranscriptionSid"],
        transcription_status=data["TranscriptionStatus"],
        text=data["TranscriptionText"],
        payload=_payload(request),
    )
    return _xml(twiml.empty_voice())


# Carrier keywords Twilio answers itself; replying to them would be refused anyway.
OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "help", "info"})


def _is_opt_out(body: str) -> bool:
    return body.strip().lower() in OPT_OUT_KEYWORDS


@twilio_webhook
def sms(request: HttpRequest) -> HttpResponse:
    """An inbound SMS: a command from on-call staff, or a message on the sender's phone ticket."""
    data = _validated(params.SmsParams, request)
    if isinstance(data, JsonResponse):
        return data
    text: dict[str, Any] = {
        "message_sid": data["MessageSid"],
        "from_number": data["From"],
        "to_number": data["To"],
        "body": data["Body"],
        "media_urls": data["media_urls"],
    }
    try:
        result = services.sms_inbound_receive(**text)
    except spool.DATABASE_DOWN:
        _spool("sms", **text)
        return _xml(twiml.sms_reply())  # a reply now could promise what may not happen
    _replay_waiting()
    if result.reply and not _is_opt_out(data["Body"]):
        return _xml(twiml.sms_reply([result.reply]))
    return _xml(twiml.sms_reply())


# What the person paged hears when the database cannot take the key press (it is spooled).
PAGE_OUTAGE = (
    "Sorry, we could not record your acknowledgement. Please try again in a few minutes, "
    "or acknowledge another way. Goodbye."
)


@twilio_webhook
def page(request: HttpRequest) -> HttpResponse:
    """The key press on an outbound paging call: 1 acknowledges the incident."""
    data = _validated(params.PageParams, request)
    if isinstance(data, JsonResponse):
        return data
    keypress = {"delivery_id": data["delivery"], "digits": data["Digits"]}
    try:
        incident = services.page_keypress_receive(**keypress)
    except spool.DATABASE_DOWN:
        _spool("page_keypress", **keypress)
        return _xml(twiml.voice_goodbye(PAGE_OUTAGE))
    if incident is not None:
        return _xml(twiml.voice_goodbye("Acknowledged. Thank you."))
    if data["Digits"] == "1":
        return _xml(twiml.voice_goodbye("There is nothing left to acknowledge. Goodbye."))
    return _xml(
        twiml.voice_gather_digit(
            prompt=DEFAULT_PROMPT,
            action_url=public_url("telephony:page", delivery=data["delivery"]),
            goodbye="Not acknowledged. Goodbye.",
        )
    )


@twilio_webhook
def page_status(request: HttpRequest) -> HttpResponse:
    """A paging call's status callback: its outcome is recorded on the page."""
    data = _validated(params.PageStatusParams, request)
    if isinstance(data, JsonResponse):
        return data
    _receive(
        "page_status",
        services.page_call_status_receive,
        delivery_id=data["delivery"],
        status=_STATUS_ALIASES.get(data["CallStatus"], data["CallStatus"]),
        answered_by=data["AnsweredBy"],
    )
    return _xml(twiml.empty_voice())
