"""Serializer building blocks shared by every app's API."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from django.db.models import IntegerChoices
from rest_framework import serializers

from supporthub.phone import InvalidPhoneNumber, to_e164


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


class FlatFieldsMixin:
    """Each serializer instance gets shallow copies of the declared fields, not deep copies.

    DRF deep-copies every declared field for each serializer instance, so that binding one
    instance's fields cannot touch another's; a deep copy re-runs each field's __init__.
    For a request's small validation serializer that was two thirds of validating it: 4%
    of an intake, 7% of an inbound call (perf, issue 8; DRF kept the deep copy, PR #4587).
    A shallow copy is an object of its own to bind, and shares what binding and validating
    do not change: validators, error messages, choices. One exception: a length or range
    validator's message is a DRF `lazy_format` that keeps its text once rendered, so the
    first error's text serves later requests too (one language here; rendering is safe
    under the GIL, not on free-threaded Python). Fields that hold other fields or state
    (nested serializers, list and dict fields, related fields) and mutable defaults are
    refused when the class is defined.
    """

    _declared_fields: ClassVar[dict[str, serializers.Field]]
    NOT_FLAT = (serializers.BaseSerializer, serializers.ListField, serializers.DictField,
                serializers.RelatedField, serializers.ManyRelatedField)  # fmt: skip

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if isinstance(field, cls.NOT_FLAT) or isinstance(field.default, list | dict | set):
                raise TypeError(
                    f"{cls.__name__}.{name}: {type(field).__name__} cannot be shared by a shallow copy"
                )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {}
        for name, declared in self._declared_fields.items():
            field = object.__new__(type(declared))
            field.__dict__ = declared.__dict__.copy()
            fields[name] = field
        return fields


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


def iso_datetime(value: datetime | str | None) -> str | None:
    """DRF's format for a datetime in the API's time zone (UTC): ISO 8601 with a Z. For the
    representations built by hand on hot paths (perf, issue 8). A string is a timestamp
    already read in that format (supporthub.db.api_timestamp_loaders)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().removesuffix("+00:00") + "Z"
