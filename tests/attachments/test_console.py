"""Agents attach files to replies in the ticket page; the thread shows thumbnails and links."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.attachments.conftest import PDF, PNG, console_save, stored_files
from tests.factories import ContactFactory, TicketFactory
from tickets.models import Attachment, Message, TicketStatus

pytestmark = pytest.mark.django_db


def test_an_agent_attaches_files_to_a_reply_and_the_thread_shows_them(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN, contact=ContactFactory(email="dana@example.com"))
    files = [SimpleUploadedFile("screen.png", PNG), SimpleUploadedFile("fix.pdf", PDF)]
    response = console_save(agent_client, ticket, reply="See attached", reply_files=files)
    assert response.status_code == 302, response.content
    reply = Message.objects.get(ticket=ticket, direction="outbound")
    image, pdf = reply.attachments.all()
    assert (image.content_type, pdf.content_type) == ("image/png", "application/pdf")
    assert reply.deliveries.get().payload["attachments"] == [image.pk, pdf.pk]

    page = agent_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert f'<img class="thumbnail" src="/v1/attachments/{image.pk}/thumbnail"' in page
    assert f'href="/v1/attachments/{pdf.pk}/download" download>fix.pdf</a>' in page
    assert f'src="/v1/attachments/{pdf.pk}/thumbnail"' not in page  # no thumbnail for a PDF
    assert agent_client.get(f"/v1/attachments/{image.pk}/download").status_code == 200


def test_files_without_a_reply_go_with_the_note(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = console_save(
        agent_client, ticket, note="Customer's log", reply_files=[SimpleUploadedFile("a.txt", b"log")]
    )
    assert response.status_code == 302, response.content
    assert Message.objects.get(ticket=ticket).attachments.get().filename == "a.txt"


def test_a_file_over_the_limit_is_refused_in_the_form_with_nothing_written(
    agent_client, settings, attachment_dir
):
    settings.ATTACHMENT_MAX_FILE_BYTES = 10
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = console_save(
        agent_client, ticket, reply="See attached", reply_files=[SimpleUploadedFile("fix.pdf", PDF)]
    )
    assert response.status_code == 200
    assert "the limit for a file is 10" in response.content.decode()
    assert not Message.objects.filter(ticket=ticket).exists()
    assert Attachment.objects.count() == 0 and stored_files(attachment_dir) == []


def test_files_need_a_reply_or_a_note(agent_client):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    response = console_save(agent_client, ticket, reply_files=[SimpleUploadedFile("a.txt", b"log")])
    assert response.status_code == 200
    assert "Write a reply or a note to send the files with." in response.content.decode()
