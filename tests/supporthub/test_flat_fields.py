"""FlatFieldsMixin: each serializer instance binds its own shallow copies of the fields."""

import pytest
from rest_framework import serializers

from supporthub.api.fields import FlatFieldsMixin
from telephony.params import SmsParams, StatusParams
from tickets.models import Ticket
from tickets.serializers import SupportRequestSerializer

SUPPORT_REQUESTS = [
    {"channel": "chat", "name": "Ann", "email": "Ann@Example.com", "subject": "Hi", "message": "Help"},
    {"channel": "phone", "name": "Bo", "phone": "+1 415 555 0123", "subject": "x", "message": "y",
     "priority": "urgent"},
    {"channel": "email", "name": "", "subject": "", "message": "y", "email": "not-an-email"},
    {"channel": "fax", "name": "C", "subject": "s", "message": "m", "colour": "blue"},
    {"channel": "chat", "name": "D" * 201, "subject": 42, "message": "m", "priority": "soon"},
    {"channel": "email", "name": "E", "subject": "s", "message": "m"},
]  # fmt: skip


class DeepCopied(SupportRequestSerializer):
    """The same serializer with DRF's own deep copy of the fields."""

    def get_fields(self):
        return serializers.Serializer.get_fields(self)


@pytest.mark.parametrize("data", SUPPORT_REQUESTS)
def test_validation_is_the_same_as_with_drfs_deep_copy(data):
    flat, deep = SupportRequestSerializer(data=data), DeepCopied(data=data)
    assert flat.is_valid() == deep.is_valid()
    assert flat.errors == deep.errors
    assert dict(flat.validated_data) == dict(deep.validated_data)


def test_each_instance_binds_its_own_fields_and_the_declared_ones_stay_unbound():
    first, second = StatusParams(data={}), StatusParams(data={})
    for name, declared in StatusParams._declared_fields.items():
        mine, theirs = first.fields[name], second.fields[name]
        assert mine is not declared and mine is not theirs
        assert mine.parent is first and theirs.parent is second
        assert mine.field_name == name
        assert declared.parent is None and declared.field_name is None
    assert not first.is_valid() and set(first.errors) == {"CallSid", "CallStatus"}
    assert second.fields["From"].parent is second  # validating the first moved nothing


def test_a_callback_validates_the_same_way_request_after_request():
    data = {"MessageSid": "SM" + "a" * 32, "From": "+14155550123", "To": "+14155550100", "Body": " hi "}
    answers = []
    for _ in range(3):
        params = SmsParams(data=data)
        assert params.is_valid(), params.errors
        answers.append(dict(params.validated_data))
    assert answers[0]["Body"] == " hi " and answers[0]["media_urls"] == []
    assert answers[1] == answers[0] == answers[2]
    assert answers[1]["media_urls"] is not answers[0]["media_urls"]


@pytest.mark.parametrize(
    "field",
    [
        serializers.ListField(child=serializers.CharField()),
        serializers.DictField(),
        serializers.PrimaryKeyRelatedField(queryset=Ticket.objects.all()),
        SupportRequestSerializer(),
        serializers.JSONField(default=[]),
    ],
    ids=["list", "dict", "related", "nested", "mutable default"],
)
def test_fields_that_cannot_be_shared_are_refused_when_the_class_is_defined(field):
    with pytest.raises(TypeError, match="cannot be shared by a shallow copy"):
        type("Bad", (FlatFieldsMixin, serializers.Serializer), {"field": field, "__module__": __name__})
