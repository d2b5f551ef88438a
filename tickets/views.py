"""The /v1 ticket, message and intake endpoints: validate, call a service, serialize."""

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from supporthub import roles
from supporthub.api.auth import RolePermission, request_actor
from supporthub.api.errors import ErrorSerializer
from supporthub.api.idempotent import idempotent
from tickets import merging, services
from tickets.attachments import Upload
from tickets.filters import MessageFilter, TicketFilter
from tickets.models import Message, Ticket
from tickets.selectors import ticket_by_identifier
from tickets.serializers import (
    TICKET_DOCUMENT_FIELDS,
    MessageCreateSerializer,
    MessageSerializer,
    SupportRequestResultSerializer,
    SupportRequestSerializer,
    TicketCreateSerializer,
    TicketLinkSerializer,
    TicketMergeSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
    support_request_result,
    ticket_document,
)


class MayChangeTicket(RolePermission):
    """Removing a link changes the ticket; DELETE there does not delete it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return self.allows(request, model=Ticket, action=roles.CHANGE, view=view)


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Every read goes through get_queryset(): a filter added there applies to the list,
    the detail and the answers to create and update alike."""

    # A paginator's COUNT drops select_related's joins, so counting stays on the ticket table.
    queryset = (
        Ticket.objects.select_related("contact", "merged_into")
        .only(*TICKET_DOCUMENT_FIELDS)
        .prefetch_related("tags", Prefetch("links", queryset=Ticket.objects.only("id", "reference")))
    )
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "updated_at", "priority"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = _validated(TicketCreateSerializer, request.data)
        contact_data = data.pop("contact")
        contact = services.contact_resolve(
            name=contact_data["name"], email=contact_data.get("email"), phone=contact_data.get("phone")
        )
        ticket = services.ticket_create(contact=contact, created_by=request_actor(request), **data)
        return Response(
            ticket_document(self.get_queryset().get(pk=ticket.pk)), status=status.HTTP_201_CREATED
        )

    @extend_schema(request=TicketUpdateSerializer, responses={200: TicketSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        data = _validated(TicketUpdateSerializer, request.data, partial=True)
        services.ticket_update(ticket=ticket, actor=request_actor(request), **data)
        return Response(ticket_document(self.get_object()))

    @extend_schema(
        request=TicketMergeSerializer,
        responses={
            200: OpenApiResponse(TicketSerializer, description="The target ticket, after the merge."),
            400: OpenApiResponse(
                ErrorSerializer,
                description="`into` names no ticket, this ticket itself, a closed or merged ticket, or "
                "one merged into this (a cycle); or this ticket is closed or merged elsewhere.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def merge(self, request: Request, pk: str | None = None) -> Response:
        """Merge this ticket (a duplicate) into `into`: its messages and calls move there, it is
        closed, and its contact is told once. Repeating a done merge changes nothing."""
        ticket = self.get_object()
        data = _validated(TicketMergeSerializer, request.data)
        target = merging.ticket_merge(source=ticket, target=data["into"], actor=request_actor(request))
        return Response(ticket_document(self.get_queryset().get(pk=target.pk)))

    @extend_schema(
        request=TicketLinkSerializer,
        responses={
            200: TicketSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No such ticket."),
        },
    )
    @action(detail=True, methods=["post"])
    def links(self, request: Request, pk: str | None = None) -> Response:
        """Link a related ticket (both ways). Linking twice changes nothing."""
        ticket = self.get_object()
        data = _validated(TicketLinkSerializer, request.data)
        merging.ticket_link(ticket=ticket, other=data["ticket"], actor=request_actor(request))
        return Response(ticket_document(self.get_object()))

    @extend_schema(
        request=None,
        responses={
            200: TicketSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such ticket."),
        },
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"links/(?P<other>[^/]+)",
        permission_classes=[MayChangeTicket],
    )
    def unlink(self, request: Request, pk: str | None = None, other: str = "") -> Response:
        """Remove the link to the ticket `other` (an id or a reference). Not linked: no change."""
        ticket = self.get_object()
        related = ticket_by_identifier(other)
        if related is None:
            raise NotFound(f"No ticket {other[:40]}.")
        merging.ticket_unlink(ticket=ticket, other=related, actor=request_actor(request))
        return Response(ticket_document(self.get_object()))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([ticket_document(ticket) for ticket in page])  # type: ignore[union-attr]

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(ticket_document(self.get_object()))

    def filter_queryset(self, queryset: Any) -> Any:
        """List filters and ordering shape lists; a single ticket is found by its id alone."""
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


class MessageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Message.objects.select_related("author_user", "author_contact").prefetch_related("attachments")
    serializer_class = MessageSerializer
    parser_classes = [JSONParser, MultiPartParser]  # multipart: with `attachments` file parts
    filterset_class = MessageFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    @extend_schema(request=MessageCreateSerializer, responses={201: MessageSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        data = _validated(MessageCreateSerializer, request.data)
        files = [Upload(name=file.name or "", file=file) for file in data.pop("attachments", [])]
        actor = request_actor(request)  # a user, or an API key by name
        message = services.message_create(
            author_user=actor.user,
            author_label="" if actor.user else actor.name,
            actor=actor,
            attachments=files,
            **data,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class SupportRequestView(APIView):
    """A customer's request from any channel: becomes a ticket, and the right people hear of it."""

    permission_model = Ticket
    intake = True  # the one endpoint an intake-only API key may call

    @extend_schema(
        request=SupportRequestSerializer,
        responses={201: SupportRequestResultSerializer},
        operation_id="support_request_create",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = _validated(SupportRequestSerializer, request.data)
        result = services.support_request_submit(**data)
        body = support_request_result(result.ticket, result.deliveries)
        return Response(body, status=status.HTTP_201_CREATED)


def _validated(serializer_class: type, data: Any, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
