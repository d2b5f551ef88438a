"""Serializer building blocks shared by every app's API."""

from datetime import UTC, datetime
from typing import Any

from django.db.models import IntegerChoices
from rest_framework import serializers

from supporthub.phone import InvalidPhoneNumber, to_e164
from supporthub.text import single_line


class StrictFieldsMixin:
    """Reject fields the serializer does not know (a typo must not be silently ignored).

    Every optional field accepts null (and the schema says so): null is "not given", so a
    field with a default gets its default.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()  # type: ignore[misc]
        for field in fields.values():
            if not field.required and not field.read_only:
                field.allow_null = True
        return fields

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, Any] = {}
        if isinstance(data, dict):
            fields = self.fields  # type: ignore[attr-defined]
            if any(value is None for value in data.values()):
                data = {
                    name: value
                    for name, value in data.items()
                    if not (
                        value is None and name in fields and fields[name].default is not serializers.empty
                    )
                }
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


class PrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An object's id. `""` is an error: DRF would read it as null (which clears the field)."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "":
            self.fail("incorrect_type", data_type="str")
        return super().run_validation(data)


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
