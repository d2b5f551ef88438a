"""Escalation policies with ordered steps, and incidents with their timeline and pages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from notifications.recipients import slack_chooses_channel


class TriggerReason(models.TextChoices):
    URGENT_TICKET = "urgent_ticket", "Urgent ticket"
    SLA_BREACH = "sla_breach", "SLA breach"
    MISSED_CALL = "missed_call", "Missed call"
    API = "api", "API"
    MANUAL = "manual", "Manual"


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    repeat_count = models.PositiveSmallIntegerField(
        default=0, help_text="How many more times to run all steps when nobody acknowledges."
    )
    runbook = models.TextField(blank=True, help_text="Markdown or a URL; shown in every page.")
    ack_timeout_minutes = models.PositiveIntegerField(
        default=0,
        help_text="Re-page when an acknowledged incident is not resolved within this time (0: never).",
    )
    on_urgent_ticket = models.BooleanField(default=False, help_text="Open incidents for urgent tickets.")
    on_sla_breach = models.BooleanField(default=False, help_text="Open incidents when an SLA is breached.")
    on_missed_call = models.BooleanField(default=False, help_text="Open incidents for missed phone calls.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    SCHEDULE = "schedule", "Notify the on-call person of a schedule"
    USER = "user", "Notify a person"
    SLACK = "slack", "Post to a Slack channel"
    TEAM_EMAIL = "team_email", "Email the team"


class StepCondition(models.TextChoices):
    ALWAYS = "always", "Always"
    BUSINESS_HOURS = "business_hours", "Only during business hours"
    OUTSIDE_BUSINESS_HOURS = "outside_business_hours", "Only outside business hours"


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=StepKind.choices)
    schedule = models.ForeignKey(
        "escalation.Schedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    slack_channel = models.CharField(
        max_length=100, blank=True, help_text="Empty: SLACK_CHANNEL. Another channel needs SLACK_BOT_TOKEN."
    )
    email = models.EmailField(blank=True, help_text="Empty: SUPPORT_TEAM_EMAIL.")
    wait_minutes = models.PositiveIntegerField(default=5, help_text="Wait this long before the next step.")
    condition = models.CharField(max_length=32, choices=StepCondition.choices, default=StepCondition.ALWAYS)
    calendar = models.ForeignKey(
        "escalation.BusinessCalendar", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["policy", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()}"

    def clean(self) -> None:
        if self.kind == StepKind.SCHEDULE and not self.schedule_id:
            raise ValidationError({"schedule": "Choose the schedule whose on-call person is notified."})
        if self.kind == StepKind.USER and not self.user_id:
            raise ValidationError({"user": "Choose the person to notify."})
        if self.condition != StepCondition.ALWAYS and not self.calendar_id:
            raise ValidationError({"calendar": "A business-hours condition needs a business calendar."})
        if self.slack_channel and not slack_chooses_channel():
            raise ValidationError(
                {
                    "slack_channel": "A step's own Slack channel needs SLACK_BOT_TOKEN: the incoming webhook "
                    "(SLACK_WEBHOOK_URL) posts only to the channel it was made for. Leave it empty to post "
                    "to the team's channel."
                }
            )

    def snapshot(self) -> dict[str, object]:
        return {
            "position": self.position,
            "kind": self.kind,
            "schedule_id": self.schedule_id,
            "user_id": self.user_id,
            "slack_channel": self.slack_channel,
            "email": self.email,
            "wait_minutes": self.wait_minutes,
            "condition": self.condition,
            "calendar_id": self.calendar_id,
        }


class IncidentStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


OPEN_STATUSES = (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED)


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Incident(models.Model):
    title = models.CharField(max_length=200)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    # The policy as it was when the incident opened: editing a policy never changes a running escalation.
    policy_snapshot = models.JSONField(default=dict, editable=False)
    reason = models.CharField(max_length=16, choices=TriggerReason.choices, default=TriggerReason.API)
    dedup_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL: no key
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.TRIGGERED)
    current_step = models.PositiveSmallIntegerField(default=0, help_text="Index of the next step to run.")
    current_round = models.PositiveSmallIntegerField(default=0)
    repages = models.PositiveSmallIntegerField(default=0, help_text="Times re-paged after an ack timeout.")
    next_step_at = models.DateTimeField(null=True, blank=True)
    exhausted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(status__in=OPEN_STATUSES), name="incident_one_open_per_ticket"
            ),
            models.UniqueConstraint(
                fields=["dedup_key"], condition=Q(status__in=OPEN_STATUSES), name="incident_one_open_per_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_step_at"], name="incident_due_idx", condition=Q(status__in=OPEN_STATUSES)
            ),
            models.Index(fields=["status", "-created_at"], name="incident_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def steps(self) -> list[dict[str, object]]:
        return list(self.policy_snapshot.get("steps", []))


class IncidentEvent(models.Model):
    """One line of an incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    message = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # Who acted, also when it was not a user (an API key's name); kept if the user is deleted.
    actor_name = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=16, blank=True, help_text="api, admin, sms, voice, engine, ...")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"], name="incident_event_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class PageStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Handed to notifications"
    CANCELLED = "cancelled", "Cancelled (acknowledged first)"
    FAILED = "failed", "Failed"


class PageCallOutcome(models.TextChoices):
    """How a paging call ended, from its final status callback. Only ANSWERED reached a person."""

    ANSWERED = "answered", "Answered by a person"
    MACHINE = "machine", "Voicemail or answering machine (not delivered)"
    NO_ANSWER = "no-answer", "Not answered"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class IncidentPage(models.Model):
    """One notification sent (or scheduled) for an incident; links to the notifications Delivery."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="pages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    channel = models.CharField(max_length=8)
    recipient = models.CharField(max_length=254)
    body = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=PageStatus.choices, default=PageStatus.SCHEDULED)
    send_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The outbox row that carries this page (None when the outbox refused it). The link lives
    # here, not on Delivery, so notifications knows nothing about escalation.
    delivery = models.ForeignKey(
        "notifications.Delivery", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    call_outcome = models.CharField(
        max_length=16,
        choices=PageCallOutcome.choices,
        blank=True,
        help_text="Voice pages: how the call ended.",
    )
    answered_by = models.CharField(
        max_length=32, blank=True, help_text="Voice pages: Twilio's answering machine detection."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at", "id"]
        indexes = [
            models.Index(
                fields=["send_at"], name="incident_page_due_idx", condition=Q(status=PageStatus.SCHEDULED)
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}"


class SlackAction(models.Model):
    """A button clicked on a page in Slack, acted on once: `key` is unique per click, so a
    replayed request finds its row and changes nothing."""

    key = models.CharField(max_length=200, unique=True, help_text="Slack user, action and action_ts.")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="slack_actions")
    action = models.CharField(max_length=16)
    slack_user = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.slack_user}"
