"""Response shape of /v1/calls (read-only)."""

from rest_framework import serializers

from telephony.models import CallLog


class CallLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallLog
        fields = [
            "id",
            "call_sid",
            "parent",
            "direction",
            "from_number",
            "to_number",
            "forwarded_to",
            "status",
            "outcome",
            "answered_by",
            "started_at",
            "answered_at",
            "ended_at",
            "duration",
            "recording_url",
            "recording_duration",
            "transcript",
            "ticket",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
