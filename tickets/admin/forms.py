"""The ticket form of the console: field edits, a reply box (sent, or kept as an internal
note), a note box, the send buttons, stale-save guard."""

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from supporthub.text import single_line
from tickets.admin.attachments import FILES_HELP, MultipleFileField
from tickets.models import Macro, Ticket, TicketChange, TicketPriority, TicketStatus, tag_names_clean

REPLY_HELP = "Sent to the contact through the ticket's channel when you save."
NOTE_HELP = "Only agents see internal notes."
INTERNAL_HELP = "Keep the reply box's text inside the team: it is added as an internal note, not sent."
# The send buttons: each saves the page; the ones with a status then move the ticket to it.
SEND_CHOICES = [
    ("now", "Send"),
    (TicketStatus.PENDING, "Send and set pending"),
    (TicketStatus.RESOLVED, "Send and resolve"),
]


class TagsField(forms.CharField):
    """Tag names separated by commas or spaces, cleaned as the API cleans them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Separate tags with commas or spaces: letters, digits, '-' and '_'.")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return tag_names_clean(part for part in re.split(r"[\s,]+", text) if part)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(initial) != self.to_python(data)
        except forms.ValidationError:
            return True


class TicketConsoleForm(forms.ModelForm):
    reply = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}), help_text=REPLY_HELP)
    note = forms.CharField(
        required=False, label="Internal note", widget=forms.Textarea(attrs={"rows": 3}), help_text=NOTE_HELP
    )
    internal = forms.BooleanField(required=False, label="Internal note", help_text=INTERNAL_HELP)
    # Not in a fieldset: the send buttons under the reply box carry it (change_form.html).
    send = forms.ChoiceField(required=False, choices=SEND_CHOICES)
    tags = TagsField(required=False)
    reply_files = MultipleFileField(required=False, label="Attach files", help_text=FILES_HELP)
    # A macro whose shortcut was typed in the reply box: its changes apply when the page is saved.
    macro_on_send = forms.ModelChoiceField(
        queryset=Macro.objects.all(), required=False, widget=forms.HiddenInput
    )
    # When the agent loaded the page; a newer ticket means somebody else changed it since.
    seen_updated_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Ticket
        fields = ["subject", "status", "priority", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = get_user_model().objects.filter(is_staff=True, is_active=True)  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["seen_updated_at"].initial = self.instance.updated_at
            # model_to_dict loaded the instance's Tag rows; the box shows their names.
            self.initial["tags"] = ", ".join(tag.name for tag in self.initial.get("tags", []))

    def clean_subject(self) -> str:
        return single_line(self.cleaned_data["subject"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.pk:
            return cleaned
        # Locked until the admin's transaction, which validates and saves the page, ends: a
        # save racing this one waits here and then checks against what this one wrote.
        current = Ticket.objects.select_for_update().get(pk=self.instance.pk)
        seen = cleaned.get("seen_updated_at")
        if seen and current.updated_at > seen:
            changes = TicketChange.objects.filter(ticket=current, created_at__gt=seen).select_related("actor")
            what = "; ".join(f"{c.actor or 'system'} changed {c}" for c in changes) or "a new message arrived"
            raise forms.ValidationError(
                f"Someone else changed this ticket while you had it open ({what}). "
                "Nothing was saved: reload the page to see the current ticket, then redo your change.",
                code="stale",
            )
        status = cleaned.get("status")
        if status and not current.can_transition_to(status):
            self.add_error("status", f"Cannot change status from {current.status} to {status}.")
        if (cleaned.get("reply") or cleaned.get("note")) and current.status == TicketStatus.CLOSED:
            self.add_error("reply", "This ticket is closed and takes no more messages.")
        if cleaned.get("reply_files") and not (cleaned.get("reply") or cleaned.get("note")):
            self.add_error("reply_files", "Write a reply or a note to send the files with.")
        send = send_status(cleaned)
        macro = cleaned.get("macro_on_send")
        if macro and macro.status:
            if send or "status" in self.changed_data:
                self.add_error(None, f"Macro “{macro}” sets the status: choose no other status.")
            elif not current.can_transition_to(macro.status):
                self.add_error(
                    None, f"Macro “{macro}”: cannot change status from {current.status} to {macro.status}."
                )
        if send:
            if not (cleaned.get("reply") or cleaned.get("note")):
                self.add_error("reply", "Write a reply (or a note) to send.")
            if "status" in self.changed_data and status != send:
                self.add_error("status", "Choose a status here or with a send button, not both.")
            elif not current.can_transition_to(send):
                self.add_error(None, f"Cannot change status from {current.status} to {send}.")
        return cleaned


def send_status(cleaned: dict[str, Any]) -> str | None:
    """The status the pressed send button moves the ticket to, if any."""
    send = cleaned.get("send")
    return send if send in (TicketStatus.PENDING, TicketStatus.RESOLVED) else None


class BulkAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True),
        required=False,
        empty_label="Nobody",
    )


class BulkPriorityForm(forms.Form):
    priority = forms.TypedChoiceField(choices=TicketPriority.choices, coerce=int)


class BulkStatusForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices)


class BulkAddTagsForm(forms.Form):
    add_tags = TagsField(label="Tags to add")


class BulkRemoveTagsForm(forms.Form):
    remove_tags = TagsField(label="Tags to remove")


class MacroApplyForm(forms.Form):
    macro = forms.ModelChoiceField(queryset=Macro.objects.all())


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100)
    query = forms.CharField(max_length=2000, required=False)
    shared = forms.BooleanField(required=False)
