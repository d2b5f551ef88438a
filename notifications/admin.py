"""Deliveries in the agent console: the outbox and its dead letters, with a retry action."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_retry
from supporthub.exceptions import DomainError
from tickets.models import Attachment


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "channel",
        "recipient",
        "subject",
        "status",
        "audience",
        "attempts",
        "short_error",
        "ticket",
        "sent_at",
    ]
    list_filter = ["status", "channel", "audience", "created_at"]
    list_select_related = ["ticket"]
    search_fields = [
        "recipient",
        "subject",
        "idempotency_key",
        "provider_id",
        "ticket__reference",
        "last_error",
    ]
    date_hierarchy = "created_at"
    actions = ["retry", "resend_unconfirmed"]
    readonly_fields = [
        "channel",
        "recipient",
        "subject",
        "email_or_body",
        "files",
        "payload",
        "ticket",
        "message",
        "status",
        "attempts",
        "audience",
        "retry_until",
        "unconfirmed_at",
        "next_attempt_at",
        "last_error",
        "provider_id",
        "idempotency_key",
        "sent_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deliveries are created by services, never by hand

    @admin.display(description="Body")
    def email_or_body(self, obj: Delivery) -> str:
        template = (obj.payload or {}).get("template")
        return f"(rendered from the {template!r} email template when sent)" if template else obj.body

    @admin.display(description="Attachments")
    def files(self, obj: Delivery) -> str:
        """The files the message carried (an email's attachments)."""
        ids = (obj.payload or {}).get("attachments") or []
        attachments = Attachment.objects.filter(pk__in=ids).order_by("pk")
        gone = len(ids) - len(attachments)
        listed = format_html_join(
            ", ",
            '<a href="{}">{}</a> ({}, {} bytes)',
            (
                (reverse("attachment-download", args=[a.pk]), a.filename, a.content_type, a.size)
                for a in attachments
            ),
        )
        return format_html("{}{}", listed, f" and {gone} deleted since" if gone else "") or "—"

    @admin.display(description="Last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry selected failed/skipped deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        self._retry(request, queryset, [DeliveryStatus.FAILED, DeliveryStatus.SKIPPED], resend=False)

    @admin.action(description="Send selected unconfirmed customer messages again (they may arrive twice)")
    def resend_unconfirmed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        statuses = [DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.UNCONFIRMED]
        self._retry(request, queryset, statuses, resend=True)

    def _retry(
        self,
        request: HttpRequest,
        queryset: QuerySet[Delivery],
        statuses: list[DeliveryStatus],
        *,
        resend: bool,
    ) -> None:
        done, refused = 0, []
        for delivery in queryset.filter(status__in=statuses):
            try:
                delivery_retry(delivery=delivery, resend_unconfirmed=resend)
                done += 1
            except DomainError as exc:
                refused.append(exc.message)
        skipped = queryset.exclude(status__in=statuses).count()
        if done:
            self.message_user(request, f"{done} deliveries queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} deliveries were not failed or skipped; left alone.", messages.WARNING
            )
        for message in refused:
            self.message_user(request, message, messages.WARNING)
