"""The outbox: one Delivery row per notification, written before anything is sent."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class DeliveryChannel(models.TextChoices):
    # Stored as short strings (max_length leaves room for "pagerduty", "opsgenie", ...).
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    PAGERDUTY = "pagerduty", "PagerDuty"
    OPSGENIE = "opsgenie", "Opsgenie"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    # The provider may have it (an attempt went unanswered), and it is not sent again by itself.
    UNCONFIRMED = "unconfirmed", "Sent, unconfirmed"
    FAILED = "failed", "Failed (dead letter)"
    SKIPPED = "skipped", "Skipped (not configured, or no longer needed)"


FINAL_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.UNCONFIRMED,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
)


class DeliveryAudience(models.TextChoices):
    """Who reads it, which decides how it is retried (docs/notifications.md)."""

    CUSTOMER = "customer", "Customer (acknowledgement, reply)"
    TEAM = "team", "Team notice"
    PAGE = "page", "Page (incident)"


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def dead_letters(self) -> DeliveryQuerySet:
        return self.filter(status=DeliveryStatus.FAILED)

    def due(self, *, before: object = None) -> DeliveryQuerySet:
        """Pending rows whose next attempt time has passed (`before`, default now)."""
        return self.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=before or timezone.now())


class Delivery(models.Model):
    """What to send, to whom, through which channel, and what happened when we tried.

    `idempotency_key` is chosen by the caller from the cause (e.g. "ticket:42:team-email"),
    so re-running the cause never creates a second notification.
    """

    channel = models.CharField(max_length=32, choices=DeliveryChannel.choices)
    recipient = models.CharField(
        max_length=320,
        help_text="Email address, E.164 phone number, or a Slack channel label.",
    )
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    payload = models.JSONField(
        default=dict,
        blank=True,
        help_text="Channel extras: html, headers (email), webhook_url/blocks (Slack), twiml (voice).",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,  # delivery_ticket_idx starts with it
    )
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    audience = models.CharField(
        max_length=16, choices=DeliveryAudience.choices, default=DeliveryAudience.TEAM
    )
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    retry_until = models.DateTimeField(
        default=timezone.now, help_text="Transient failures are retried until then; after it, failed."
    )
    unconfirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an attempt went unanswered after it was sent: the provider may have it.",
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(
        max_length=255, blank=True, help_text="ESP message id, Slack HTTP status, Twilio SID."
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The beat sweep: pending rows past their time, and rows stuck in sending.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="delivery_sweep_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["status", "-created_at"], name="delivery_status_created_idx"),
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_created_idx"),
            models.Index(fields=["ticket", "-created_at"], name="delivery_ticket_idx"),
            # What a customer address or number was sent lately (the acknowledgement limit).
            models.Index(
                fields=["recipient", "created_at"],
                name="delivery_customer_recent_idx",
                condition=Q(audience="customer"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(recipient=""), name="delivery_recipient_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES
