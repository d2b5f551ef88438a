"""Call logs: one row per Twilio call leg, updated by webhooks and status callbacks."""

from __future__ import annotations

from django.db import models


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound (a customer calls us)"
    OUTBOUND = "outbound", "Outbound (we dial someone: a forwarded leg or a page)"


class CallStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


# Statuses only move forward: a callback whose rank is not higher than the stored one is
# stale (Twilio does not guarantee order) and changes nothing. Final statuses share the
# top rank, so the first final status wins and a late "ringing" never undoes "completed".
STATUS_RANK: dict[str, int] = {
    CallStatus.QUEUED: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    CallStatus.COMPLETED: 3,
    CallStatus.BUSY: 3,
    CallStatus.NO_ANSWER: 3,
    CallStatus.FAILED: 3,
    CallStatus.CANCELED: 3,
}
FINAL_STATUSES = frozenset(status for status, rank in STATUS_RANK.items() if rank == 3)


def statuses_before(status: str) -> list[str]:
    """The stored statuses that `status` may replace."""
    return [name for name, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]


class CallOutcome(models.TextChoices):
    """What happened to an inbound call from the customer's point of view."""

    PENDING = "", "In progress"
    ANSWERED = "answered", "Answered by the team"
    VOICEMAIL = "voicemail", "Sent to voicemail"
    ABANDONED = "abandoned", "Caller hung up before an answer"


class CallLog(models.Model):
    call_sid = models.CharField("CallSid", max_length=34, unique=True)
    # Forwarded legs and paging calls point at the inbound call they belong to.
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="legs")
    direction = models.CharField(max_length=16, choices=CallDirection.choices)
    from_number = models.CharField(
        max_length=20, blank=True, help_text="E.164 caller ID; empty when the caller withheld it."
    )
    caller_name = models.CharField(max_length=100, blank=True, help_text="Twilio CallerName (CNAM), if any.")
    to_number = models.CharField(max_length=20, blank=True, help_text="E.164")
    forwarded_to = models.CharField(
        max_length=20, blank=True, help_text="E.164 number of the person who answered (or was rung last)."
    )
    status = models.CharField(max_length=16, choices=CallStatus.choices, default=CallStatus.RINGING)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, default="", blank=True)
    answered_by = models.CharField(max_length=32, blank=True, help_text="Twilio AnsweredBy, if detected.")
    # The numbers this call rings, fixed when it arrives, and how far down the list it got.
    dial_targets = models.JSONField(default=list, blank=True)
    dial_attempts = models.PositiveSmallIntegerField(default=0)
    dial_results = models.JSONField(
        default=dict,
        blank=True,
        help_text="DialCallStatus reported by each ringing attempt, by attempt number (0 first).",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    recording_sid = models.CharField(max_length=34, blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    recording_duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")
    transcript = models.TextField(blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    # The inbound-call webhook answers before the call has a ticket (telephony.calls): this
    # marks the calls still waiting for one, which the beat sweep picks up if their task is lost.
    ticket_pending = models.BooleanField(
        default=False, help_text="Logged, but not yet booked on a ticket (done a moment after it rings)."
    )
    last_payload = models.JSONField(
        default=dict, blank=True, help_text="Parameters of the last Twilio callback that changed this call."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "call"
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="call_created_idx"),
            models.Index(fields=["status", "-created_at"], name="call_status_created_idx"),
            models.Index(fields=["from_number", "-created_at"], name="call_from_created_idx"),
            models.Index(
                fields=["created_at"], condition=models.Q(ticket_pending=True), name="call_ticket_pending_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.call_sid} from {self.from_number or 'a withheld number'}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class InboundSms(models.Model):
    """One row per inbound text (MessageSid), written before the text is acted on: a replay
    by Twilio finds it, does nothing, and is answered with the first reply."""

    message_sid = models.CharField("MessageSid", max_length=34, unique=True)
    from_number = models.CharField(max_length=20, help_text="E.164")
    reply = models.TextField(blank=True, help_text="What we texted back, if anything.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "inbound text"

    def __str__(self) -> str:
        return f"text {self.message_sid} from {self.from_number}"


class MmsFetch(models.Model):
    """An inbound MMS whose media are not stored yet: kept until its fetch task has finished,
    so the sweep can queue the fetch again when the task was lost."""

    message = models.OneToOneField("tickets.Message", on_delete=models.CASCADE, related_name="+")
    message_sid = models.CharField(max_length=64)
    media_urls = models.JSONField()
    queued_at = models.DateTimeField(db_index=True, help_text="When its fetch task was last queued.")

    def __str__(self) -> str:
        return self.message_sid
