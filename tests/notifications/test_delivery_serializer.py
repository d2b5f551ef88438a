"""The hand-built delivery representation equals DRF's generic one."""

from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from notifications.models import Delivery, DeliveryStatus
from notifications.serializers import DeliverySerializer
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "sent",
    [
        {},
        {
            "status": DeliveryStatus.SENT,
            "sent_at": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            "provider_id": "SM1",
        },
        {"status": DeliveryStatus.FAILED, "attempts": 5, "last_error": "500 [gave up]"},
    ],
)
def test_the_fast_representation_equals_drfs_generic_one(sent):
    message = MessageFactory()
    delivery = Delivery.objects.create(
        channel="email",
        recipient="ann@example.com",
        subject="Ünïcode ✓",
        body="b",
        idempotency_key=f"k-{message.pk}",
        ticket=message.ticket,
        message=message,
        **sent,
    )
    delivery = Delivery.objects.get(pk=delivery.pk)
    generic = serializers.ModelSerializer.to_representation(DeliverySerializer(), delivery)
    assert DeliverySerializer(delivery).data == generic
    assert DeliverySerializer([delivery], many=True).data == [generic]
    assert list(generic) == DeliverySerializer.Meta.fields
