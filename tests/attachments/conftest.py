"""Attachments are stored in a folder of each test's own (STORAGES["attachments"])."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils.functional import empty

from tickets.models import ATTACHMENT_STORAGE

# The smallest files of each kind the tests send: typed by these bytes, not by their names.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ" + b"\x90\x00" * 40 + b"PE\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def attachment_dir(settings, tmp_path) -> Iterator[Path]:
    folder = tmp_path / "attachments"
    with attachment_storage_as(
        {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}}
    ):
        yield folder


@contextmanager
def attachment_storage_as(config: dict[str, Any]) -> Iterator[None]:
    """STORAGES["attachments"] is `config` inside the block."""
    with override_settings(STORAGES={**settings.STORAGES, "attachments": config}):
        ATTACHMENT_STORAGE._wrapped = empty
        try:
            yield
        finally:
            ATTACHMENT_STORAGE._wrapped = empty


def stored_files(folder: Path) -> list[str]:
    """Every file under the attachments folder, relative to it."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def console_save(agent_client, ticket, **fields):
    """Save the ticket's console page with `fields` (a reply, a note, files)."""
    url = f"/admin/tickets/ticket/{ticket.pk}/change/"
    seen = agent_client.get(url).context["adminform"].form["seen_updated_at"].value()
    data = {"subject": ticket.subject, "status": ticket.status, "priority": ticket.priority, "assignee": ""}
    return agent_client.post(url, {**data, "seen_updated_at": seen, **fields})
