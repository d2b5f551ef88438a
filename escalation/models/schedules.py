"""On-call schedules (layers, participants, overrides) and how each person is reached."""

from __future__ import annotations

import re
import secrets
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, validate_email
from django.db import models
from django.db.models import F, Q

from supporthub.phone import InvalidPhoneNumber, to_e164


def validate_time_zone(value: str) -> None:
    """An IANA time zone name such as Europe/Berlin (not an abbreviation or offset)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an IANA time zone name such as Europe/Berlin.") from exc


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class Schedule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Berlin",
    )
    # Calendar apps cannot send X-API-Key: the .ics feed also accepts ?token=<this>.
    feed_token = models.CharField(max_length=64, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local(self, when: datetime, *, zone_name: bool = True) -> str:
        """`when` on this schedule's clock, labelled: "Tue 08 Dec 09:00 EST (America/New_York)"
        (without the parenthesis when `zone_name` is False, e.g. under a labelled heading)."""
        text = when.astimezone(self.tz).strftime("%a %d %b %H:%M %Z")
        return f"{text} ({self.time_zone})" if zone_name else text


class ShiftUnit(models.TextChoices):
    HOURS = "hours", "Hours"
    DAYS = "days", "Days"
    WEEKS = "weeks", "Weeks"


class RotationLayer(models.Model):
    """One rotation. Where several layers cover the same moment, the highest level wins."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100, blank=True)
    level = models.PositiveSmallIntegerField(default=1, help_text="Higher levels win over lower ones.")
    shift_length = models.PositiveSmallIntegerField(default=1)
    shift_unit = models.CharField(max_length=8, choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    handoff_time = models.TimeField(help_text="Local time of the handoff, in the schedule's time zone.")
    handoff_weekday = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ],
        help_text="For weekly shifts: the first shift starts on this weekday on or after the start date.",
    )
    start_date = models.DateField(help_text="The rotation starts on this date at the handoff time.")
    end_date = models.DateField(null=True, blank=True, help_text="Optional: no shifts from this date on.")

    class Meta:
        ordering = ["schedule", "-level"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "level"], name="layer_unique_level"),
            models.CheckConstraint(condition=Q(shift_length__gte=1), name="layer_positive_length"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                name="layer_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"Layer {self.level}"

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date <= self.start_date:
            raise ValidationError({"end_date": "The end date must be after the start date."})
        if self.shift_unit == ShiftUnit.HOURS and self.shift_length and self.shift_length > 24 * 28:
            raise ValidationError({"shift_length": "Use days or weeks for shifts longer than four weeks."})


class LayerParticipant(models.Model):
    layer = models.ForeignKey(RotationLayer, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="rotation_slots",
        limit_choices_to={"is_staff": True},
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["layer", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "position"], name="participant_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.user}"


class Override(models.Model):
    """A person covers [start, end) whatever the layers say."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="oncall_overrides",
        limit_choices_to={"is_staff": True},
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["schedule", "start"]
        indexes = [models.Index(fields=["schedule", "end"], name="override_schedule_end_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="override_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.schedule.local(self.start)} to {self.schedule.local(self.end)}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})
        if self.start and self.end and self.schedule_id:
            clash = (
                Override.objects.filter(schedule_id=self.schedule_id, start__lt=self.end, end__gt=self.start)
                .exclude(pk=self.pk)
                .first()
            )
            if clash is not None:
                raise ValidationError({"start": f"Overlaps the override {clash}."})


HANDOFF_NOTICE_MAX_MINUTES = 24 * 60


class ContactMethodKind(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"


SLACK_ADDRESS = re.compile(r"^(#[a-z0-9._-]{1,80}|@[\w.-]{1,80}|[UW][A-Z0-9]{6,20})$")


class ContactMethod(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    kind = models.CharField(max_length=8, choices=ContactMethodKind.choices)
    address = models.CharField(
        max_length=254,
        help_text="E.164 number for SMS/voice, an email address, or a Slack @name, #channel or member id.",
    )
    label = models.CharField(max_length=50, blank=True)
    handoff_notice_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(HANDOFF_NOTICE_MAX_MINUTES)],
        help_text="Tell this person here this many minutes before each of their on-call shifts starts, "
        "and whom they take over from (SMS, email or Slack). Empty: ESCALATION_HANDOFF_NOTICE_MINUTES "
        "decides, through their first SMS, email or Slack method.",
    )
    verified_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When its owner last answered a test page."
    )
    # The code the last test page asks its owner to answer with (escalation.reachability).
    test_code = models.CharField(max_length=32, blank=True, editable=False)
    test_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="contact_method_unique")
        ]
        indexes = [models.Index(fields=["address"], name="contact_method_address_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"

    def clean(self) -> None:
        self.address = normalise_address(self.kind, self.address)
        if self.handoff_notice_minutes is not None and self.kind == ContactMethodKind.VOICE:
            raise ValidationError(
                {"handoff_notice_minutes": "Handoff notices go by SMS, email or Slack, not by call."}
            )


def normalise_address(kind: str, address: str) -> str:
    """The stored form of a contact address; raises ValidationError naming the field `address`."""
    address = (address or "").strip()
    if kind in (ContactMethodKind.SMS, ContactMethodKind.VOICE):
        try:
            return to_e164(address)
        except InvalidPhoneNumber as exc:
            raise ValidationError({"address": str(exc)}) from exc
    if kind == ContactMethodKind.EMAIL:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError({"address": "Enter a valid email address."}) from exc
        return address.lower()
    if kind == ContactMethodKind.SLACK:
        if not SLACK_ADDRESS.match(address):
            raise ValidationError({"address": "Use a Slack @name, #channel or member id such as U012AB3CD."})
        return address
    raise ValidationError({"kind": f"Unknown contact method kind {kind!r}."})


class NotificationRule(models.Model):
    """When a person is paged: use `method` `delay_minutes` after the page (e.g. SMS at 0, call at 5)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay_minutes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["user", "delay_minutes", "id"]
        constraints = [
            models.UniqueConstraint(fields=["method", "delay_minutes"], name="notification_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} after {self.delay_minutes} min"

    def clean(self) -> None:
        if self.method_id and self.user_id and self.method.user_id != self.user_id:
            raise ValidationError({"method": "Choose one of this person's own contact methods."})
