"""Agent console: the call log, read-only, with caller ID and a link to each call's ticket."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from supporthub.phone import InvalidPhoneNumber
from telephony.models import CallLog


def _pretty(number: str) -> str:
    """+14155550123 → +1 415-555-0123 (international format), for people to read."""
    import phonenumbers

    try:
        return phonenumbers.format_number(
            phonenumbers.parse(number, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except (phonenumbers.NumberParseException, InvalidPhoneNumber):
        return number


class LegInline(admin.TabularInline):
    model = CallLog
    fk_name = "parent"
    fields = ["call_sid", "to_number", "status", "answered_at", "ended_at", "duration"]
    readonly_fields = ["call_sid", "to_number", "status", "answered_at", "ended_at", "duration"]
    extra = 0
    can_delete = False
    verbose_name = "forwarded leg"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CallLog)
class CallLogAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "direction",
        "caller_id",
        "to_number",
        "forwarded_to",
        "status",
        "outcome",
        "duration",
        "has_voicemail",
        "ticket_link",
    ]
    list_filter = ["direction", "status", "outcome", "created_at"]
    list_select_related = ["ticket__contact"]
    search_fields = [
        "call_sid",
        "from_number",
        "to_number",
        "forwarded_to",
        "ticket__reference",
        "transcript",
    ]
    date_hierarchy = "created_at"
    inlines = [LegInline]
    readonly_fields = [field.name for field in CallLog._meta.get_fields() if field.concrete] + [
        "caller_id",
        "ticket_link",
        "recording_link",
    ]
    fieldsets = [
        (None, {"fields": ["call_sid", "direction", "caller_id", "caller_name", "to_number", "forwarded_to",
                           "ticket_link", "ticket_pending"]}),
        ("Progress", {"fields": ["status", "outcome", "answered_by", "dial_targets", "dial_attempts",
                                 "started_at", "answered_at", "ended_at", "duration"]}),
        ("Voicemail", {"fields": ["recording_link", "recording_sid", "recording_duration", "transcript"]}),
        ("Raw", {"classes": ["collapse"], "fields": ["parent", "last_payload", "created_at", "updated_at"]}),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallLog]:
        return super().get_queryset(request).select_related("ticket__contact")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # calls come from Twilio only

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Caller ID", ordering="from_number")
    def caller_id(self, call: CallLog) -> str:
        if not call.from_number:
            return "Withheld"
        contact = call.ticket.contact if call.ticket else None
        name = contact.name if contact and contact.name != call.from_number else ""
        pretty = _pretty(call.from_number)
        return f"{name} ({pretty})" if name else pretty

    @admin.display(description="Ticket", ordering="ticket")
    def ticket_link(self, call: CallLog) -> str:
        if call.ticket is None:
            return "-"
        url = reverse("admin:tickets_ticket_change", args=[call.ticket_id])
        return format_html('<a href="{}">{}</a>', url, call.ticket.reference)

    @admin.display(description="Voicemail", boolean=True)
    def has_voicemail(self, call: CallLog) -> bool:
        return bool(call.recording_sid)

    @admin.display(description="Recording")
    def recording_link(self, call: CallLog) -> str:
        if not call.recording_url:
            return "-"
        return format_html('<a href="{}.mp3" rel="noreferrer" target="_blank">Listen</a>', call.recording_url)
