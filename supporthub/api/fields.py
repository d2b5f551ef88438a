"""Serializer building blocks shared by every app's API."""

from datetime import UTC, datetime
from typing import Any

from django.db.models import IntegerChoices
from rest_framework import serializers

from supporthub.phone import InvalidPhoneNumber, to_e164
from supporthub.text import single_line


class StrictFieldsMixin:
    """Reject fields the serializer does not know (a typo must not be silently ignored)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, Any] = {}
        if isinstance(data, dict):
            fields = self.fields  # type: ignore[attr-defined]
            known = {name for name, f in fields.items() if not f.read_only}
            unknown = {name: ["Unknown field."] for name in sorted(set(data) - known)}
            # DRF turns 42 into "42" for text fields; a client sending a number meant something else.
            unknown.update(
                {
                    name: ["Not a valid string."]
                    for name, value in data.items()
                    if name in known
                    and isinstance(fields[name], serializers.CharField)
                    and value is not None
                    and not isinstance(value, str)
                }
            )
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class E164PhoneField(serializers.CharField):
    """A phone number, normalised to E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "E.164, e.g. +14155550123")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return value
        try:
            return to_e164(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


class SingleLineCharField(serializers.CharField):
    """Text for one line, such as a subject: line breaks become spaces."""

    def to_internal_value(self, data: Any) -> str:
        return single_line(super().to_internal_value(data))


class LabelChoiceField(serializers.ChoiceField):
    """Shows an IntegerChoices value by its label (``"urgent"``) and accepts the label."""

    def __init__(self, choices_enum: type[IntegerChoices], **kwargs: Any) -> None:
        self.enum = choices_enum
        super().__init__(choices=[member.label for member in choices_enum], **kwargs)

    def to_internal_value(self, data: Any) -> int:  # type: ignore[override]
        label = super().to_internal_value(data)
        return next(member.value for member in self.enum if member.label == label)

    def to_representation(self, value: Any) -> str:
        return self.enum(value).label


def iso_datetime(value: datetime | None) -> str | None:
    """DRF's format for a datetime in the API's time zone (UTC): ISO 8601 with a Z, for
    representations built by hand (tickets.serializers.ticket_document)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().removesuffix("+00:00") + "Z"
