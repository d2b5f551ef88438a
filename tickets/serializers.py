"""Request validation and response shapes for /v1 tickets, messages and intake."""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.models import Delivery
from notifications.serializers import DeliverySerializer, delivery_document
from supporthub.api.fields import (
    E164PhoneField,
    FlatFieldsMixin,
    LabelChoiceField,
    StrictFieldsMixin,
    iso_datetime,
)
from supporthub.api.pagination import CountedRows
from supporthub.compiled import CompiledRead
from supporthub.db import api_timestamp_loaders
from tickets.models import (
    Message,
    MessageChannel,
    MessageDirection,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
)

User = get_user_model()

SUBJECT_MAX = 200
BODY_MAX = 20_000


def staff_users() -> Any:
    return User.objects.filter(is_active=True, is_staff=True)


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True, allow_null=True)
    phone = serializers.CharField(read_only=True, allow_null=True)


class ContactInputSerializer(StrictFieldsMixin, FlatFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = E164PhoneField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError({"email": ["Give an email or a phone number."]})
        return attrs


class TicketSerializer(serializers.ModelSerializer):
    priority = LabelChoiceField(TicketPriority, read_only=True)
    contact = ContactSerializer(read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "description",
            "status",
            "priority",
            "channel",
            "contact",
            "assignee",
            "created_at",
            "updated_at",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "resolved_at",
            "sla_breached",
            "message_count",
        ]
        read_only_fields = fields

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        return ticket_instance_document(ticket)


# What a ticket's API representation reads, in this order: a `.values_list(*TICKET_COLUMNS)`
# row, or an instance's attributes.
TICKET_COLUMNS = (
    "id",
    "reference",
    "subject",
    "description",
    "status",
    "priority",
    "channel",
    "contact_id",
    "contact__name",
    "contact__email",
    "contact__phone",
    "assignee_id",
    "created_at",
    "updated_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "resolved_at",
    "sla_breached",
    "message_count",
)


def ticket_rows(queryset: Any) -> Any:
    """`queryset` as rows (tuples) of TICKET_COLUMNS, ready for ticket_document."""
    return queryset.values_list(*TICKET_COLUMNS)


_TICKET_BY_ID = CompiledRead(
    lambda pk: ticket_rows(Ticket.objects.filter(pk=pk)), loaders=api_timestamp_loaders
)
_BIGINT = range(-(2**63), 2**63)
# The ticket list's default order (TicketViewSet.ordering) and its pages, compiled.
TICKET_ORDER = ("-created_at", "-id")
TICKET_LIST = CompiledRead(
    lambda: ticket_rows(Ticket.objects.order_by(*TICKET_ORDER)), arity=0, loaders=api_timestamp_loaders
)
_TICKET_IDS = CompiledRead(lambda: Ticket.objects.order_by().values_list("pk"), arity=0)  # what it counts


def ticket_list_pages(queryset: Any, *, plain: bool) -> CountedRows:
    """The view's filtered, ordered tickets for the paginator: counted without the join to
    contacts, each page read as rows of TICKET_COLUMNS; by TICKET_LIST's compiled SQL when
    the list is `plain` (no filter or ordering asked for: `queryset` is then TICKET_LIST's)."""
    if plain:
        return CountedRows(
            queryset,
            lambda start, stop: TICKET_LIST.fetch(start=start, stop=stop),
            ids_sql=_TICKET_IDS.sql(queryset.db),
        )
    return CountedRows(queryset, lambda start, stop: list(ticket_rows(queryset)[start:stop]))


def ticket_row(pk: int) -> tuple[Any, ...] | None:
    """The row of TICKET_COLUMNS of ticket `pk`, or None; read with SQL compiled once per
    process where the database allows (perf, issue 8)."""
    if pk not in _BIGINT:
        return None
    rows = _TICKET_BY_ID.fetch(pk)
    return rows[0] if rows else None


PRIORITY_LABELS = {member.value: member.label for member in TicketPriority}


def ticket_document(row: Sequence[Any]) -> dict[str, Any]:
    """A ticket as the API shows it, built by hand from a row of TICKET_COLUMNS.

    DRF's generic field walk (and instantiating models) was the largest cost of a page of
    50 tickets (perf, issue 8); the serializer's declared fields still describe the schema
    and a test keeps this equal to DRF's generic output.
    """
    (
        pk, reference, subject, description, status, priority, channel,
        contact_id, contact_name, contact_email, contact_phone, assignee_id,
        created_at, updated_at, first_response_due, resolution_due, first_responded_at, resolved_at,
        sla_breached, message_count,
    ) = row  # fmt: skip
    return {
        "id": pk,
        "reference": reference,
        "subject": subject,
        "description": description,
        "status": status,
        "priority": PRIORITY_LABELS[priority],
        "channel": channel,
        "contact": {"id": contact_id, "name": contact_name, "email": contact_email, "phone": contact_phone},
        "assignee": assignee_id,
        "created_at": iso_datetime(created_at),
        "updated_at": iso_datetime(updated_at),
        "first_response_due": iso_datetime(first_response_due),
        "resolution_due": iso_datetime(resolution_due),
        "first_responded_at": iso_datetime(first_responded_at),
        "resolved_at": iso_datetime(resolved_at),
        "sla_breached": sla_breached,
        "message_count": message_count,
    }


def ticket_instance_document(ticket: Ticket) -> dict[str, Any]:
    """ticket_document of an instance (its contact loaded)."""
    return ticket_document(tuple(_attribute(ticket, column) for column in TICKET_COLUMNS))


def _attribute(instance: Any, column: str) -> Any:
    for name in column.split("__"):
        instance = getattr(instance, name)
    return instance


class TicketCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    subject = serializers.CharField(max_length=SUBJECT_MAX)
    description = serializers.CharField(max_length=BODY_MAX, required=False, allow_blank=True, default="")
    priority = LabelChoiceField(TicketPriority, required=False, default=TicketPriority.NORMAL)
    channel = serializers.ChoiceField(
        choices=TicketChannel.choices, required=False, default=TicketChannel.API
    )
    contact = ContactInputSerializer()
    assignee = serializers.PrimaryKeyRelatedField(queryset=staff_users(), required=False, allow_null=True)


class TicketUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    subject = serializers.CharField(max_length=SUBJECT_MAX, required=False)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = LabelChoiceField(TicketPriority, required=False)
    assignee = serializers.PrimaryKeyRelatedField(queryset=staff_users(), required=False, allow_null=True)


class AuthorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "contact"])
    id = serializers.IntegerField()
    name = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "ticket", "direction", "channel", "body", "author", "external_id", "created_at"]
        read_only_fields = fields

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, message: Message) -> dict[str, Any] | None:
        if message.author_user_id:
            return {"type": "user", "id": message.author_user_id, "name": message.author_name}
        if message.author_contact_id:
            return {"type": "contact", "id": message.author_contact_id, "name": message.author_name}
        return None


class MessageCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    ticket = serializers.PrimaryKeyRelatedField(queryset=Ticket.objects.all())
    direction = serializers.ChoiceField(choices=MessageDirection.choices)
    body = serializers.CharField(max_length=BODY_MAX)
    channel = serializers.ChoiceField(
        choices=MessageChannel.choices,
        required=False,
        help_text="Defaults to the ticket's channel (internal for notes).",
    )


class SupportRequestSerializer(StrictFieldsMixin, FlatFieldsMixin, serializers.Serializer):
    channel = serializers.ChoiceField(choices=[TicketChannel.EMAIL, TicketChannel.CHAT, TicketChannel.PHONE])
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = E164PhoneField(required=False, allow_blank=True)
    subject = serializers.CharField(max_length=SUBJECT_MAX)
    message = serializers.CharField(max_length=BODY_MAX)
    priority = LabelChoiceField(TicketPriority, required=False, default=TicketPriority.NORMAL)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["channel"] == TicketChannel.EMAIL and not attrs.get("email"):
            raise serializers.ValidationError({"email": ["Required when channel is email."]})
        if attrs["channel"] == TicketChannel.PHONE and not attrs.get("phone"):
            raise serializers.ValidationError({"phone": ["Required when channel is phone."]})
        return attrs


class SupportRequestResultSerializer(serializers.Serializer):
    """The schema of POST /v1/support/request's answer (support_request_result builds it)."""

    ticket = TicketSerializer()
    deliveries = DeliverySerializer(many=True)


def support_request_result(ticket: Ticket, deliveries: Sequence[Delivery]) -> dict[str, Any]:
    """POST /v1/support/request's answer, built without serializer instances: making the
    two (one a ListSerializer) cost ~5% of an intake's CPU (perf, issue 8)."""
    return {
        "ticket": ticket_instance_document(ticket),
        "deliveries": [delivery_document(delivery) for delivery in deliveries],
    }
