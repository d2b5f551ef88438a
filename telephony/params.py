"""Validation of the form parameters Twilio posts to the webhooks.

Twilio sends many more parameters than these; unknown ones are ignored (not an error, as
it is in the JSON API). A request that fails here gets a 400 and writes nothing.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from supporthub.phone import InvalidPhoneNumber, to_e164


def sid_field(*prefixes: str, required: bool = True) -> serializers.RegexField:
    """A Twilio SID: a two-letter prefix and 32 hex digits."""
    pattern = rf"^(?:{'|'.join(prefixes)})[0-9a-fA-F]{{32}}$"
    return serializers.RegexField(
        pattern,
        max_length=34,
        required=required,
        allow_blank=not required,
        default="" if not required else serializers.empty,
        error_messages={"invalid": f"Not a Twilio SID ({'/'.join(prefixes)} followed by 32 hex digits)."},
    )


# Values Twilio and carriers put in From when the caller hides their number.
WITHHELD_CALLER_IDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "+266696687",
     "+86282452253", "+8656696", "+7378742833", "+2562533"}
)  # fmt: skip


class CallerIdField(serializers.CharField):
    """The caller's number in E.164, or "" when the caller withheld it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value.strip().lower() in WITHHELD_CALLER_IDS:
            return ""
        try:
            return to_e164(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


class PhoneField(CallerIdField):
    """A number that must be a real E.164 number (our own numbers, SMS senders)."""

    def to_internal_value(self, data: Any) -> str:
        value = serializers.CharField.to_internal_value(self, data)
        try:
            return to_e164(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


CALL_STATUSES = ["queued", "initiated", "ringing", "in-progress", "answered", "completed", "busy",
                 "no-answer", "failed", "canceled"]  # fmt: skip
DIAL_STATUSES = ["completed", "answered", "busy", "no-answer", "failed", "canceled"]


class VoiceParams(serializers.Serializer):
    CallSid = sid_field("CA")
    From = CallerIdField(required=False, default="")
    To = PhoneField()
    CallerName = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DialParams(serializers.Serializer):
    CallSid = sid_field("CA")
    DialCallStatus = serializers.ChoiceField(choices=DIAL_STATUSES)
    attempt = serializers.IntegerField(min_value=0, max_value=20, help_text="From the action URL.")


class StatusParams(serializers.Serializer):
    CallSid = sid_field("CA")
    CallStatus = serializers.ChoiceField(choices=CALL_STATUSES)
    ParentCallSid = sid_field("CA", required=False)
    From = CallerIdField(required=False, default="")
    To = CallerIdField(required=False, default="")
    CallDuration = serializers.IntegerField(min_value=0, max_value=86_400 * 2, required=False)
    AnsweredBy = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    Timestamp = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class RecordingParams(serializers.Serializer):
    CallSid = sid_field("CA")
    RecordingSid = sid_field("RE")
    RecordingUrl = serializers.URLField(max_length=500)
    RecordingStatus = serializers.ChoiceField(
        choices=["in-progress", "completed", "absent", "failed"], required=False, default="completed"
    )
    RecordingDuration = serializers.IntegerField(min_value=-1, max_value=86_400, required=False)

    def validate_RecordingUrl(self, value: str) -> str:
        if not value.startswith("https://"):
            raise serializers.ValidationError("Must be an https URL.")
        return value


class TranscriptionParams(serializers.Serializer):
    CallSid = sid_field("CA")
    TranscriptionSid = sid_field("TR")
    TranscriptionStatus = serializers.ChoiceField(choices=["completed", "failed"])
    TranscriptionText = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")


class SmsParams(serializers.Serializer):
    MessageSid = sid_field("SM", "MM")
    From = PhoneField()
    To = PhoneField()
    Body = serializers.CharField(
        max_length=20_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    NumMedia = serializers.IntegerField(min_value=0, max_value=10, required=False, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = self.initial_data
        urls = []
        field = serializers.URLField(max_length=1000)
        for index in range(attrs["NumMedia"]):
            raw = data.get(f"MediaUrl{index}", "")
            try:
                urls.append(field.run_validation(raw))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({f"MediaUrl{index}": exc.detail}) from exc
        attrs["media_urls"] = urls
        return attrs


class PageParams(serializers.Serializer):
    delivery = serializers.IntegerField(min_value=1, help_text="From the Gather action URL.")
    Digits = serializers.RegexField(r"^[0-9*#]{0,32}$", required=False, allow_blank=True, default="")


class PageStatusParams(serializers.Serializer):
    delivery = serializers.IntegerField(min_value=1, help_text="From the status callback URL.")
    CallSid = sid_field("CA")
    CallStatus = serializers.ChoiceField(choices=CALL_STATUSES)
    AnsweredBy = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
