"""Attachments through the message service: judged by content and size before anything is
written, stored once, and deleted with their ticket or by the retention purge."""

from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from supporthub.exceptions import DomainError, TooLarge
from tests.attachments.conftest import EXE, PDF, PNG, stored_files
from tests.factories import TicketFactory
from tickets import attachments
from tickets.attachments import Upload, sanitise_filename, sniff_type
from tickets.models import Attachment, Message, MessageDirection
from tickets.services import message_create

pytestmark = pytest.mark.django_db


def _note(ticket, *uploads):
    return message_create(
        ticket=ticket, direction=MessageDirection.NOTE, body="see files", attachments=uploads
    )


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\shot 1.png", "shot_1.png"),
        ("..", "attachment"),
        ("", "attachment"),
        (".htaccess", "htaccess"),
        ("a\x00b\u202e.txt", "ab.txt"),
        ("x" * 300 + ".png", "x" * 116 + ".png"),
    ],
)
def test_file_names_are_sanitised(name, safe):
    assert sanitise_filename(name) == safe


def test_types_are_judged_by_content():
    assert sniff_type(PNG) == "image/png"
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type("héllo, plain text\n".encode()) == "text/plain"
    assert sniff_type(b"\x00\x01\x02\xff") == "application/octet-stream"


def test_a_pdf_named_png_is_stored_as_a_pdf(attachment_dir):
    message = _note(TicketFactory(), Upload.of_bytes("invoice.png", PDF))
    (attachment,) = message.attachments.all()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "invoice.png",
        "application/pdf",
        len(PDF),
    )
    assert attachment.file.read() == PDF
    assert stored_files(attachment_dir) == [attachment.file.name]


def test_a_file_over_the_limit_is_refused_with_nothing_written(settings, attachment_dir):
    settings.ATTACHMENT_MAX_FILE_BYTES = len(PNG) - 1
    ticket = TicketFactory()
    with pytest.raises(TooLarge, match="limit"):
        _note(ticket, Upload.of_bytes("shot.png", PNG))
    assert not Message.objects.filter(ticket=ticket).exists()
    assert stored_files(attachment_dir) == []


def test_files_over_the_message_limit_together_are_refused(settings, attachment_dir):
    settings.ATTACHMENT_MAX_MESSAGE_BYTES = len(PNG) + len(PDF) - 1
    with pytest.raises(TooLarge, match="one message"):
        _note(TicketFactory(), Upload.of_bytes("a.png", PNG), Upload.of_bytes("b.pdf", PDF))
    assert Attachment.objects.count() == 0
    assert stored_files(attachment_dir) == []


def test_refused_types_are_refused_whatever_their_name(attachment_dir):
    with pytest.raises(DomainError, match="application/x-msdownload"):
        _note(TicketFactory(), Upload.of_bytes("cat.jpg", EXE))
    assert stored_files(attachment_dir) == []


def test_types_outside_the_allowed_list_are_refused(settings):
    settings.ATTACHMENT_ALLOWED_TYPES = ["image/png"]
    with pytest.raises(DomainError, match="application/pdf"):
        _note(TicketFactory(), Upload.of_bytes("doc.pdf", PDF))


def test_a_failed_write_removes_the_files_written_before_it(monkeypatch, attachment_dir):
    real_save = FileSystemStorage._save
    calls = []

    def failing_second_save(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_second_save)
    with pytest.raises(OSError, match="disk full"):
        _note(TicketFactory(), Upload.of_bytes("a.png", PNG), Upload.of_bytes("b.pdf", PDF))
    assert stored_files(attachment_dir) == []


def test_files_of_a_rolled_back_transaction_are_forgotten(monkeypatch, attachment_dir):
    queued = []
    monkeypatch.setattr(attachments, "publish", lambda *args, **kwargs: queued.append((args, kwargs)))
    ticket = TicketFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        _note(ticket, Upload.of_bytes("a.png", PNG))
        raise RuntimeError("the caller failed after the message was written")
    ((task, names), options) = queued[0]
    assert task == attachments.FORGET_UNSAVED_TASK and options["countdown"] > 0
    assert stored_files(attachment_dir) == names
    kept = _note(ticket, Upload.of_bytes("b.png", PNG)).attachments.get()
    assert attachments.attachments_forget_unsaved(names=[*names, kept.file.name]) == 1
    assert stored_files(attachment_dir) == [kept.file.name]


def test_a_fetched_file_is_stored_once(attachment_dir):
    ticket = TicketFactory()
    _note(ticket, Upload.of_bytes("0.png", PNG, source_key="MM1:0"))
    _note(ticket, Upload.of_bytes("0.png", PNG, source_key="MM1:0"))
    assert Attachment.objects.filter(source_key="MM1:0").count() == 1
    assert len(stored_files(attachment_dir)) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_deleting_a_ticket_deletes_its_files(attachment_dir):
    ticket, other = TicketFactory(), TicketFactory()
    _note(ticket, Upload.of_bytes("a.png", PNG), Upload.of_bytes("b.pdf", PDF))
    kept = _note(other, Upload.of_bytes("c.png", PNG)).attachments.get()
    ticket.delete()
    assert stored_files(attachment_dir) == [kept.file.name]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_purge_deletes_attachments_older_than_the_retention(settings, attachment_dir):
    ticket = TicketFactory()
    old = _note(ticket, Upload.of_bytes("old.png", PNG)).attachments.get()
    new = _note(ticket, Upload.of_bytes("new.png", PNG)).attachments.get()
    Attachment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    settings.ATTACHMENT_RETENTION_DAYS = 0
    call_command("purge_attachments")
    assert Attachment.objects.count() == 2
    settings.ATTACHMENT_RETENTION_DAYS = 30
    call_command("purge_attachments")
    assert list(Attachment.objects.values_list("pk", flat=True)) == [new.pk]
    assert stored_files(attachment_dir) == [new.file.name]


def test_beat_runs_the_purge_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["tickets-attachments-purge"]
    assert (entry["task"], entry["schedule"]) == ("tickets.attachments_purge", 24 * 3600.0)
