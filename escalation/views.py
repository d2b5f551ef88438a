"""/v1/oncall and /v1/incidents: validate, call a service or the resolver, serialize."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from escalation import ical, oncall, pager, services
from escalation.models import Incident, IncidentStatus, Override, Schedule, TriggerReason
from escalation.serializers import (
    IncidentCreateSerializer,
    IncidentDetailSerializer,
    IncidentSerializer,
    OnCallSerializer,
    PagerTakenSerializer,
    ScheduleSerializer,
    TakeSerializer,
    person,
)
from supporthub import roles
from supporthub.api.auth import RolePermission, request_actor
from supporthub.api.errors import ErrorSerializer

FEED_DAYS_DEFAULT = 28
FEED_DAYS_MAX = 180


class MayTakePager(RolePermission):
    """Taking the pager for oneself needs only to see the schedule (the service checks that
    the person is in its rotation); an API key, which names whom, needs to add overrides."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.auth is not None:
            return self.allows(request, model=Override, action=roles.ADD)
        return self.allows(request, model=Schedule, action=roles.VIEW)


def _actor(request: Request) -> Any:
    return request.user if request.user.is_authenticated else None


class ScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Schedule.objects.prefetch_related("layers__participants__user")
    serializer_class = ScheduleSerializer
    ordering_fields = ["name", "id"]
    ordering = ["name"]

    @extend_schema(
        parameters=[
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="Instant to ask about (default now).")
        ],
        responses={
            200: OnCallSerializer,
            400: OpenApiResponse(ErrorSerializer, description="`at` is not an ISO 8601 date-time."),
        },
        operation_id="oncall_schedules_now",
    )
    @action(detail=True, methods=["get"], url_path="now")
    def now(self, request: Request, pk: str | None = None) -> Response:
        """Who is on call on this schedule now (or at `at`); `user` is null for a gap."""
        schedule = self.get_object()
        at = timezone.now()
        if "at" in request.query_params:
            field = serializers.DateTimeField()
            try:
                at = field.to_internal_value(request.query_params["at"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"at": exc.detail}) from exc
        who = oncall.oncall_at(schedule, at)
        body = {
            "schedule": schedule.pk,
            "at": at,
            "user": person(who.user),
            "is_gap": who.is_gap,
            "source": who.source,
            "until": who.until,
        }
        return Response(OnCallSerializer(body).data)

    @extend_schema(
        request=TakeSerializer,
        responses={
            201: PagerTakenSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="`user` is missing (API key), unknown, not an active participant of the "
                "schedule or already on call; or `schedule` has no handover within 35 days.",
            ),
            403: OpenApiResponse(ErrorSerializer, description="Naming someone else needs to add overrides."),
            404: OpenApiResponse(ErrorSerializer, description="No such schedule."),
        },
        operation_id="oncall_schedules_take",
    )
    @action(detail=True, methods=["post"], url_path="take", permission_classes=[MayTakePager])
    def take(self, request: Request, pk: str | None = None) -> Response:
        """Put the caller (or `user`) on call now until the next handover, as an override.

        400 when that person is not an active participant of the schedule, is already on
        call, or the schedule has no handover within 35 days. Naming someone else needs the
        permission to add overrides (or an API key).
        """
        schedule = self.get_object()
        serializer = TakeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data.get("user") or _actor(request)
        if user is None:
            raise serializers.ValidationError({"user": ["Name who takes the pager: an API key is nobody."]})
        actor = _actor(request)
        if (
            actor is not None
            and actor != user
            and not roles.session_allows(request, model=Override, action=roles.ADD)
        ):
            raise exceptions.PermissionDenied(
                "Only people who may add overrides can hand the pager to others."
            )
        taken = pager.pager_take(schedule=schedule, user=user, via="api")
        body = {"override": taken.override, "previous": person(taken.previous)}
        return Response(PagerTakenSerializer(body).data, status=status.HTTP_201_CREATED)


class ScheduleFeedView(APIView):
    """iCalendar feed of a schedule's coming shifts (API key, staff session, or ?token=)."""

    permission_classes = [permissions.AllowAny]  # the feed token is checked in get()
    permission_model = Schedule

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": FEED_DAYS_MAX},
                description=f"Days ahead (default {FEED_DAYS_DEFAULT}, max {FEED_DAYS_MAX}).",
            ),
            OpenApiParameter(
                "token", OpenApiTypes.STR, description="The schedule's feed token, for calendar apps."
            ),
        ],
        responses={
            (200, "text/calendar"): OpenApiTypes.STR,
            400: OpenApiResponse(
                ErrorSerializer, description=f"`days` is not a whole number from 1 to {FEED_DAYS_MAX}."
            ),
        },
        operation_id="oncall_schedules_ics",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        schedule = get_object_or_404(Schedule, pk=pk)
        token = request.query_params.get("token", "")
        role = RolePermission()
        if not role.has_permission(request, self) and not (
            token and hmac.compare_digest(token.encode(), schedule.feed_token.encode())
        ):
            if request.auth is not None or request.user.is_authenticated:
                raise exceptions.PermissionDenied(role.message)
            raise exceptions.NotAuthenticated("Send an API key, log in as staff, or add ?token=<feed token>.")
        try:
            days = int(request.query_params.get("days", FEED_DAYS_DEFAULT))
        except ValueError:
            raise serializers.ValidationError({"days": ["A whole number of days."]}) from None
        if not 1 <= days <= FEED_DAYS_MAX:
            raise serializers.ValidationError({"days": [f"Between 1 and {FEED_DAYS_MAX}."]})
        start = oncall.day_start(schedule, timezone.now())
        body = ical.schedule_ical(schedule, start, start + timedelta(days=days))
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="oncall-{schedule.pk}.ics"'
        return response


class IncidentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=IncidentStatus.choices)
    reason = filters.ChoiceFilter(choices=TriggerReason.choices)

    class Meta:
        model = Incident
        fields = ["status", "reason", "ticket", "policy"]


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Incident.objects.select_related("acknowledged_by", "resolved_by").prefetch_related(
        "events__actor", "pages"
    )
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return IncidentDetailSerializer if self.action != "list" else IncidentSerializer

    def _show(self, pk: int) -> Any:
        incident = Incident.objects.select_related("acknowledged_by", "resolved_by").prefetch_related(
            "events__actor"
        )
        return IncidentDetailSerializer(incident.get(pk=pk)).data

    @extend_schema(
        request=IncidentCreateSerializer,
        responses={201: IncidentDetailSerializer, 200: IncidentDetailSerializer},
    )
    def create(self, request: Request) -> Response:
        """Open an incident by API (200 with the open one if the ticket or dedup_key already has one)."""
        serializer = IncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = request_actor(request)  # a user, or an API key by name
        incident, created = services.incident_open(
            ticket=data.get("ticket"),
            title=data.get("title", ""),
            policy=data.get("policy"),
            dedup_key=data.get("dedup_key") or None,
            reason=TriggerReason.API,
            actor=actor.user,
            actor_name=actor.name,
        )
        if incident is None:
            raise serializers.ValidationError({"policy": ["No escalation policy exists; create one first."]})
        return Response(
            self._show(incident.pk), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Stop the escalation (re-paged after the policy's ack timeout if not resolved)."""
        actor = request_actor(request)
        incident = services.incident_acknowledge(
            incident=self.get_object(), user=actor.user, actor_name=actor.name, via="api"
        )
        return Response(self._show(incident.pk))

    @extend_schema(request=None, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        actor = request_actor(request)
        incident = services.incident_resolve(
            incident=self.get_object(), user=actor.user, actor_name=actor.name, via="api"
        )
        return Response(self._show(incident.pk))

    @extend_schema(request=None, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        """Run the next escalation step now (an acknowledged incident is triggered again)."""
        actor = request_actor(request)
        incident = services.incident_escalate(
            incident=self.get_object(), user=actor.user, actor_name=actor.name, via="api"
        )
        return Response(self._show(incident.pk))
