"""The /v1 ticket, message and intake endpoints: validate, call a service, serialize."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets import services
from tickets.filters import MessageFilter, TicketFilter
from tickets.models import Message, Ticket
from tickets.serializers import (
    TICKET_ORDER,
    MessageCreateSerializer,
    MessageSerializer,
    SupportRequestResultSerializer,
    SupportRequestSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
    support_request_result,
    ticket_document,
    ticket_list_pages,
    ticket_row,
    ticket_rows,
)


def _author(request: Request) -> Any:
    """The logged-in agent, or None for calls made with an API key."""
    return request.user if request.user.is_authenticated else None


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Ticket.objects.all()
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "updated_at", "priority"]
    ordering = list(TICKET_ORDER)
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer})
    def create(self, request: Request) -> Response:
        data = _validated(TicketCreateSerializer, request.data)
        contact_data = data.pop("contact")
        contact = services.contact_resolve(
            name=contact_data["name"], email=contact_data.get("email"), phone=contact_data.get("phone")
        )
        ticket = services.ticket_create(contact=contact, **data)
        return Response(self._show(ticket.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=TicketUpdateSerializer, responses={200: TicketSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        data = _validated(TicketUpdateSerializer, request.data, partial=True)
        services.ticket_update(ticket=ticket, **data)
        return Response(self._show(ticket.pk))

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        paging = {self.paginator.page_query_param, self.paginator.page_size_query_param}  # type: ignore[union-attr]
        plain = request.query_params.keys() <= paging
        page = self.paginate_queryset(ticket_list_pages(queryset, plain=plain))  # type: ignore[arg-type]
        return self.get_paginated_response([ticket_document(row) for row in page])  # type: ignore[union-attr, arg-type]

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(self._show(pk))

    def _show(self, pk: Any) -> dict[str, Any]:
        """The ticket's representation read as one row (no model instances: perf, issue 8).

        A plain request reads it with the compiled statement; one with a query string goes
        through the filters, as every DRF detail route does.
        """
        try:
            if not self.request.query_params:
                row = ticket_row(int(pk))
                if row is None:
                    raise Ticket.DoesNotExist
                return ticket_document(row)
            return ticket_document(ticket_rows(self.filter_queryset(self.get_queryset())).get(pk=pk))
        except (Ticket.DoesNotExist, TypeError, ValueError, DjangoValidationError):
            raise Http404 from None


class MessageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Message.objects.select_related("author_user", "author_contact")
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    @extend_schema(request=MessageCreateSerializer, responses={201: MessageSerializer})
    def create(self, request: Request) -> Response:
        data = _validated(MessageCreateSerializer, request.data)
        message = services.message_create(author_user=_author(request), **data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class SupportRequestView(APIView):
    """A customer's request from any channel: becomes a ticket, and the right people hear of it."""

    @extend_schema(
        request=SupportRequestSerializer,
        responses={201: SupportRequestResultSerializer},
        operation_id="support_request_create",
    )
    def post(self, request: Request) -> Response:
        data = _validated(SupportRequestSerializer, request.data)
        result = services.support_request_submit(**data)
        body = support_request_result(result.ticket, result.deliveries)
        return Response(body, status=status.HTTP_201_CREATED)


def _validated(serializer_class: type, data: Any, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
