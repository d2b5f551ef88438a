"""Delivery as shown by the API (e.g. in POST /v1/support/request's answer)."""

from rest_framework import serializers

from notifications.models import Delivery


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
