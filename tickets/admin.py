"""A first agent console: contacts and tickets with their conversation."""

from django.contrib import admin

from tickets.models import Contact, Message, SlaPolicy, Ticket


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "created_at"]
    search_fields = ["name", "email", "phone"]


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "direction", "channel", "author_user", "author_contact", "body"]
    readonly_fields = ["created_at", "author_user", "author_contact"]
    extra = 0
    show_change_link = True


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "contact",
        "channel",
        "priority",
        "status",
        "assignee",
        "first_response_due",
        "sla_breached",
        "updated_at",
    ]
    list_filter = ["status", "priority", "channel", "sla_breached", "assignee"]
    list_select_related = ["contact", "assignee"]
    search_fields = ["reference", "subject", "contact__email", "contact__phone", "contact__name"]
    readonly_fields = [
        "reference",
        "created_at",
        "updated_at",
        "first_response_due",
        "resolution_due",
        "first_responded_at",
        "resolved_at",
        "message_count",
    ]
    raw_id_fields = ["contact"]
    inlines = [MessageInline]
    ordering = ["-priority", "-created_at"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["priority", "first_response_minutes", "resolution_minutes"]
