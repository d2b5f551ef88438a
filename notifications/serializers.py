"""Delivery as shown by the API (e.g. in POST /v1/support/request's answer)."""

from typing import Any

from rest_framework import serializers

from notifications.models import Delivery
from supporthub.api.fields import iso_datetime


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "recipient",
            "subject",
            "status",
            "attempts",
            "last_error",
            "provider_id",
            "ticket",
            "message",
            "sent_at",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, delivery: Delivery) -> dict[str, Any]:
        return delivery_document(delivery)


def delivery_document(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the API shows it, built by hand: every intake answers with its
    deliveries, and building the model serializer's fields per request cost more than the
    rest of the answer. DeliverySerializer's declared fields still describe
    the schema; a test keeps both equal."""
    return {
        "id": delivery.pk,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "subject": delivery.subject,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "provider_id": delivery.provider_id,
        "ticket": delivery.ticket_id,
        "message": delivery.message_id,
        "sent_at": iso_datetime(delivery.sent_at),
        "created_at": iso_datetime(delivery.created_at),
    }
