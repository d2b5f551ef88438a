"""Shapes for /v1/oncall and /v1/incidents."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from escalation.models import EscalationPolicy, Incident, IncidentEvent, IncidentPage, Schedule
from supporthub.api.fields import PrimaryKeyField, SingleLineCharField, StrictFieldsMixin
from tickets.models import Ticket


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()


def person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "email": user.email,
    }


class OnCallSerializer(serializers.Serializer):
    schedule = serializers.IntegerField()
    at = serializers.DateTimeField()
    user = PersonSerializer(allow_null=True)
    is_gap = serializers.BooleanField()
    source = serializers.CharField(help_text="override, layer:<level>, or gap")  # type: ignore[assignment]
    until = serializers.DateTimeField(
        allow_null=True, help_text="When this changes (null: not within 35 days)."
    )


class TakeSerializer(StrictFieldsMixin, serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        required=False,
        help_text="Who takes the pager (default: the signed-in caller; required with an API key).",
    )


class OverrideSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    schedule = serializers.IntegerField(source="schedule_id")
    user = serializers.SerializerMethodField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    reason = serializers.CharField()

    @extend_schema_field(PersonSerializer)
    def get_user(self, override: Any) -> dict[str, Any] | None:
        return person(override.user)


class PagerTakenSerializer(serializers.Serializer):
    override = OverrideSerializer(
        help_text="The override that puts the taker on call until the next handover."
    )
    previous = PersonSerializer(allow_null=True, help_text="Who was on call (null: nobody, a gap).")


class LayerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    shift_length = serializers.IntegerField()
    shift_unit = serializers.CharField()
    handoff_time = serializers.TimeField()
    handoff_weekday = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    participants = serializers.SerializerMethodField()

    @extend_schema_field(PersonSerializer(many=True))
    def get_participants(self, layer: Any) -> list[dict[str, Any] | None]:
        return [person(p.user) for p in layer.participants.all()]


class ScheduleSerializer(serializers.ModelSerializer):
    layers = LayerSerializer(many=True, read_only=True)

    class Meta:
        model = Schedule
        fields = ["id", "name", "description", "time_zone", "layers", "created_at", "updated_at"]
        read_only_fields = fields


class IncidentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "message", "actor", "actor_name", "via", "created_at"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_actor(self, event: IncidentEvent) -> dict[str, Any] | None:
        return person(event.actor)


class IncidentSerializer(serializers.ModelSerializer):
    acknowledged_by = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()
    runbook = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "ticket",
            "policy",
            "reason",
            "status",
            "current_step",
            "current_round",
            "next_step_at",
            "exhausted_at",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "runbook",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_acknowledged_by(self, incident: Incident) -> dict[str, Any] | None:
        return person(incident.acknowledged_by)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_resolved_by(self, incident: Incident) -> dict[str, Any] | None:
        return person(incident.resolved_by)

    def get_runbook(self, incident: Incident) -> str:
        return str(incident.policy_snapshot.get("runbook") or "")


class IncidentPageSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentPage
        fields = [
            "id",
            "channel",
            "recipient",
            "user",
            "status",
            "send_at",
            "sent_at",
            "delivery",
            "error",
            "call_outcome",
        ]
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    events = IncidentEventSerializer(many=True, read_only=True)
    pages = IncidentPageSerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "events", "pages"]
        read_only_fields = fields


class IncidentCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    title = SingleLineCharField(max_length=200, required=False, allow_blank=True, default="")
    ticket = PrimaryKeyField(queryset=Ticket.objects.all(), required=False, allow_null=True)
    policy = PrimaryKeyField(
        queryset=EscalationPolicy.objects.all(),
        required=False,
        allow_null=True,
        help_text="Default: the first policy.",
    )
    dedup_key = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("title") and not attrs.get("ticket"):
            raise serializers.ValidationError({"title": ["Give a title or a ticket."]})
        return attrs
