"""Files in the ticket page's reply box: a file input that takes several files at once."""

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from supporthub.exceptions import DomainError
from tickets.attachments import Upload, attachments_check

FILES_HELP = "Sent with the reply (or kept with the note when there is no reply)."


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; each must pass tickets.attachments' limits and types."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else [data]
        files = [super(MultipleFileField, self).clean(item, initial) for item in items if item]
        try:
            attachments_check(uploads(files))
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        return files


def uploads(files: list[UploadedFile]) -> list[Upload]:
    return [Upload(name=file.name or "", file=file) for file in files]
