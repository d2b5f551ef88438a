"""Request validation and response shapes for /v1 tickets, messages and intake."""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.models import Delivery
from notifications.serializers import DeliverySerializer, delivery_document
from supporthub.api.fields import (
    E164PhoneField,
    LabelChoiceField,
    PrimaryKeyField,
    SingleLineCharField,
    StrictFieldsMixin,
    iso_datetime,
)
from tickets.api_attachments import AttachmentSerializer
from tickets.models import (
    TAG_MAX_LENGTH,
    TAGS_PER_TICKET,
    Message,
    MessageChannel,
    MessageDirection,
    Tag,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    tag_name_clean,
)
from tickets.selectors import is_ticket_identifier, ticket_by_identifier

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


class ContactInputSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = E164PhoneField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError({"email": ["Give an email or a phone number."]})
        return attrs


@extend_schema_field(
    {"type": "string", "maxLength": TAG_MAX_LENGTH, "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$"}
)
class TagField(serializers.CharField):
    """A tag name: letters, digits, '-' and '_'; stored in lower case."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("A tag is a string.")
        try:
            return tag_name_clean(super().to_internal_value(data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class TicketSerializer(serializers.ModelSerializer):
    priority = LabelChoiceField(TicketPriority, read_only=True)
    contact = ContactSerializer(read_only=True)
    tags: serializers.SlugRelatedField[Tag] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name"
    )
    merged_into: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        read_only=True,
        slug_field="reference",
        help_text="The reference of the ticket this one was merged into.",
    )
    links: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="reference", help_text="References of related tickets."
    )

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
            "first_response_breached",
            "resolution_breached",
            "sla_breached",
            "message_count",
            "tags",
            "merged_into",
            "links",
        ]
        read_only_fields = fields

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        return ticket_document(ticket)


# The columns ticket_document reads: a ticket's API reads load just these (`.only()`), its
# contact's by a join (`select_related("contact")`).
TICKET_DOCUMENT_FIELDS = (
    "id",
    "reference",
    "subject",
    "description",
    "status",
    "priority",
    "channel",
    "contact__name",
    "contact__email",
    "contact__phone",
    "assignee",
    "created_at",
    "updated_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "resolved_at",
    "first_response_breached",
    "resolution_breached",
    "sla_breached",
    "message_count",
    "merged_into__reference",
)
PRIORITY_LABELS = {member.value: member.label for member in TicketPriority}


def ticket_document(ticket: Ticket) -> dict[str, Any]:
    """A ticket as the API shows it (TicketSerializer's fields), its contact loaded.

    Built by hand: DRF's generic field walk was the largest cost of a page of 50 tickets.
    The serializer's declared fields still describe the schema, and a test keeps this equal
    to DRF's generic output.
    """
    contact = ticket.contact
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "priority": PRIORITY_LABELS[ticket.priority],
        "channel": ticket.channel,
        "contact": {"id": contact.pk, "name": contact.name, "email": contact.email, "phone": contact.phone},
        "assignee": ticket.assignee_id,
        "created_at": iso_datetime(ticket.created_at),
        "updated_at": iso_datetime(ticket.updated_at),
        "first_response_due": iso_datetime(ticket.first_response_due),
        "resolution_due": iso_datetime(ticket.resolution_due),
        "first_responded_at": iso_datetime(ticket.first_responded_at),
        "resolved_at": iso_datetime(ticket.resolved_at),
        "first_response_breached": ticket.first_response_breached,
        "resolution_breached": ticket.resolution_breached,
        "sla_breached": ticket.sla_breached,
        "message_count": ticket.message_count,
        "tags": [tag.name for tag in ticket.tags.all()],  # prefetched by the API's queryset
        "merged_into": ticket.merged_into.reference if ticket.merged_into else None,  # joined
        "links": _link_references(ticket),
    }


def _link_references(ticket: Ticket) -> list[str]:
    if ticket.first_message is not None:  # created just now (ticket_create): no links, no read
        return []
    return [link.reference or "" for link in ticket.links.all()]  # prefetched by the API's queryset


class TicketCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    subject = SingleLineCharField(max_length=SUBJECT_MAX)
    description = serializers.CharField(max_length=BODY_MAX, required=False, allow_blank=True, default="")
    priority = LabelChoiceField(TicketPriority, required=False, default=TicketPriority.NORMAL)
    channel = serializers.ChoiceField(
        choices=TicketChannel.choices, required=False, default=TicketChannel.API
    )
    contact = ContactInputSerializer()
    assignee = PrimaryKeyField(queryset=staff_users(), required=False, allow_null=True)


class TicketUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    subject = SingleLineCharField(max_length=SUBJECT_MAX, required=False)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = LabelChoiceField(TicketPriority, required=False)
    assignee = PrimaryKeyField(queryset=staff_users(), required=False, allow_null=True)
    tags = serializers.ListField(
        child=TagField(), max_length=TAGS_PER_TICKET, required=False, help_text="Replaces the ticket's tags."
    )


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 32}], "example": "SH-1042"}
)
class TicketIdentifierField(serializers.Field):
    """A ticket named by its id (a number) or its reference ("SH-1042", any case)."""

    default_error_messages = {
        "invalid": "Name a ticket by its id or its reference, e.g. SH-1042.",
        "missing": "No ticket {value}.",
    }

    def to_internal_value(self, data: Any) -> Ticket:
        if isinstance(data, bool) or not isinstance(data, int | str) or not is_ticket_identifier(str(data)):
            self.fail("invalid")
        ticket = ticket_by_identifier(str(data))
        if ticket is None:
            self.fail("missing", value=str(data).strip()[:40])
        return ticket

    def to_representation(self, value: Ticket) -> str | None:
        return value.reference


class TicketMergeSerializer(StrictFieldsMixin, serializers.Serializer):
    into = TicketIdentifierField(help_text="The ticket to merge this one into: its id or reference.")


class TicketLinkSerializer(StrictFieldsMixin, serializers.Serializer):
    ticket = TicketIdentifierField(help_text="The related ticket: its id or reference.")


class AuthorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "contact", "api_key"])
    id = serializers.IntegerField(allow_null=True, help_text="null for an API key")
    name = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "direction",
            "channel",
            "body",
            "author",
            "external_id",
            "attachments",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, message: Message) -> dict[str, Any] | None:
        if message.author_user_id:
            return {"type": "user", "id": message.author_user_id, "name": message.author_name}
        if message.author_contact_id:
            return {"type": "contact", "id": message.author_contact_id, "name": message.author_name}
        if message.author_label:
            return {"type": "api_key", "id": None, "name": message.author_label}
        return None


class MessageCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    ticket = PrimaryKeyField(queryset=Ticket.objects.all())
    direction = serializers.ChoiceField(choices=MessageDirection.choices)
    body = serializers.CharField(max_length=BODY_MAX)
    channel = serializers.ChoiceField(
        choices=MessageChannel.choices,
        required=False,
        help_text="Defaults to the ticket's channel (internal for notes).",
    )
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="Files, as multipart/form-data parts named `attachments`.",
    )


class SupportRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    channel = serializers.ChoiceField(choices=[TicketChannel.EMAIL, TicketChannel.CHAT, TicketChannel.PHONE])
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = E164PhoneField(required=False, allow_blank=True)
    subject = SingleLineCharField(max_length=SUBJECT_MAX)
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
    two (one a ListSerializer) cost ~5% of an intake's CPU."""
    return {
        "ticket": ticket_document(ticket),
        "deliveries": [delivery_document(delivery) for delivery in deliveries],
    }
