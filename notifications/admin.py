"""Deliveries in the agent console: the outbox and its dead letters, with a retry action."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_retry
from supporthub.exceptions import DomainError


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
