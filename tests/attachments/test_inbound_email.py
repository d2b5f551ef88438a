"""Inbound email through anymail's Postmark webhook keeps its attachments and inline images."""

import base64
import json
from email.message import EmailMessage

import pytest
from django.test import Client

from tests.attachments.conftest import EXE, PDF, PNG
from tests.factories import ContactFactory, TicketFactory
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

URL = "/webhooks/email/postmark/inbound/"
SECRET = "inbound:s3cret-pass"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


def _email(*, subject="Screenshots", message_id="<att1@mail.example>", files=(), inline_png=False) -> str:
    email = EmailMessage()
    email["From"] = "Dana Doe <dana@example.com>"
    email["To"] = "help@support.example"
    email["Subject"] = subject
    email["Message-ID"] = message_id
    email.set_content("See the attached files.")
    if inline_png:
        email.add_alternative('<p>Here: <img src="cid:shot1@mail.example"></p>', subtype="html")
        email.get_payload()[1].add_related(
            PNG, "image", "png", cid="<shot1@mail.example>", filename="inline.png"
        )
    for name, content, maintype, subtype in files:
        email.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return email.as_string()


def _post(raw: str):
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    return Client().post(
        URL, data=json.dumps({"RawEmail": raw}), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


def test_an_inbound_email_with_two_attachments_keeps_both():
    raw = _email(files=[("shot.png", PNG, "image", "png"), ("invoice.pdf", PDF, "application", "pdf")])
    assert _post(raw).status_code == 200
    message = Ticket.objects.get().messages.get()
    kept = [(a.filename, a.content_type, a.size, a.file.read()) for a in message.attachments.all()]
    assert kept == [
        ("shot.png", "image/png", len(PNG), PNG),
        ("invoice.pdf", "application/pdf", len(PDF), PDF),
    ]


def test_a_reply_keeps_its_attachments_and_inline_images_on_the_ticket():
    ticket = TicketFactory(reference="SH-1042", contact=ContactFactory(email="dana@example.com"))
    raw = _email(
        subject="Re: [SH-1042] Printer", files=[("log.txt", b"paper jam\n", "text", "plain")], inline_png=True
    )
    assert _post(raw).status_code == 200
    message = ticket.messages.get()
    assert sorted((a.filename, a.content_type, a.content_id) for a in message.attachments.all()) == [
        ("inline.png", "image/png", "shot1@mail.example"),
        ("log.txt", "text/plain", ""),
    ]


def test_a_refused_attachment_is_left_out_and_named_in_the_message():
    raw = _email(files=[("tool.exe", EXE, "application", "octet-stream"), ("shot.png", PNG, "image", "png")])
    assert _post(raw).status_code == 200
    message = Message.objects.get()
    assert [a.filename for a in message.attachments.all()] == ["shot.png"]
    assert "Attachment not kept: tool.exe: files of type application/x-msdownload" in message.body


def test_the_same_email_twice_stores_its_files_once():
    raw = _email(files=[("shot.png", PNG, "image", "png")])
    assert _post(raw).status_code == 200
    assert _post(raw).status_code == 200
    assert Message.objects.get().attachments.count() == 1


def test_an_email_larger_than_an_api_body_is_accepted_up_to_the_upload_limit(settings):
    settings.MAX_REQUEST_BODY_BYTES = 2_000
    settings.MAX_UPLOAD_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    report = b"%PDF-1.4\n" + b"0" * 20_000  # base64 in Postmark's JSON: ~27 kB
    assert _post(_email(files=[("report.pdf", report, "application", "pdf")])).status_code == 200
    assert Message.objects.get().attachments.get().size == len(report)

    settings.MAX_UPLOAD_BODY_BYTES = 10_000
    response = _post(
        _email(message_id="<other@mail.example>", files=[("report.pdf", report, "application", "pdf")])
    )
    assert response.status_code == 413
