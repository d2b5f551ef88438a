"""Image thumbnails for the console: made by the server with Pillow on first request, stored
once in the attachments storage, deleted with their attachment; none for a hostile image."""

import struct
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.attachments.conftest import PDF, console_save, stored_files
from tests.factories import TicketFactory
from tickets.attachments import THUMBNAIL_BOX
from tickets.models import Attachment, Message, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def _png(width: int, height: int) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def _png_header_only(width: int, height: int, pixels: bytes = zlib.compress(b"\x00" * 64)) -> bytes:
    """A PNG that declares `width` x `height` pixels in a few bytes (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _reply_with(agent_client, *files):
    ticket = TicketFactory(status=TicketStatus.OPEN)
    uploads = [SimpleUploadedFile(name, content) for name, content in files]
    assert console_save(agent_client, ticket, note="files", reply_files=uploads).status_code == 302
    return ticket, list(Message.objects.get(ticket=ticket).attachments.all())


def _page(agent_client, ticket):
    return agent_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()


def test_an_image_gets_a_small_thumbnail_made_once_and_deleted_with_it(
    agent_client,
    attachment_dir,
    django_capture_on_commit_callbacks,
):
    ticket, (image,) = _reply_with(agent_client, ("photo.png", _png(1600, 1200)))
    assert f'<img class="thumbnail" src="/v1/attachments/{image.pk}/thumbnail"' in _page(agent_client, ticket)

    response = agent_client.get(f"/v1/attachments/{image.pk}/thumbnail")
    assert response.status_code == 200
    assert (response["Content-Type"], response["X-Content-Type-Options"]) == ("image/webp", "nosniff")
    thumbnail = Image.open(BytesIO(b"".join(response.streaming_content)))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", THUMBNAIL_BOX)  # 4:3, like the box
    image.refresh_from_db()
    assert image.thumbnail.name.endswith("/thumbnail.webp")
    assert len(stored_files(attachment_dir)) == 2

    again = agent_client.get(f"/v1/attachments/{image.pk}/thumbnail")  # served, not made again
    assert b"".join(again.streaming_content) == image.thumbnail.open("rb").read()
    assert len(stored_files(attachment_dir)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        Ticket.objects.filter(pk=ticket.pk).delete()
    assert stored_files(attachment_dir) == []


def test_a_file_that_is_no_image_has_no_thumbnail(agent_client):
    ticket, (pdf,) = _reply_with(agent_client, ("fix.pdf", PDF))
    assert "img" not in _page(agent_client, ticket).split('aria-label="Attachments"')[1].split("</ul>")[0]
    assert agent_client.get(f"/v1/attachments/{pdf.pk}/thumbnail").status_code == 404


@pytest.mark.parametrize(
    ("declared", "max_pixels"),
    [
        ((30000, 30000), 10**12),  # past twice Pillow's MAX_IMAGE_PIXELS: its DecompressionBombError
        ((9000, 9000), 50_000_000),  # past ATTACHMENT_THUMBNAIL_MAX_PIXELS
    ],
)
def test_a_hostile_image_is_stored_shown_as_a_link_and_never_decoded(
    agent_client,
    settings,
    attachment_dir,
    declared,
    max_pixels,
):
    settings.ATTACHMENT_THUMBNAIL_MAX_PIXELS = max_pixels
    ticket, (bomb,) = _reply_with(agent_client, ("bomb.png", _png_header_only(*declared)))
    assert (bomb.content_type, bomb.thumbnail_refused) == ("image/png", True)
    page = _page(agent_client, ticket)
    assert f"/v1/attachments/{bomb.pk}/thumbnail" not in page
    assert f'href="/v1/attachments/{bomb.pk}/download" download>bomb.png</a>' in page
    assert agent_client.get(f"/v1/attachments/{bomb.pk}/thumbnail").status_code == 404
    assert len(stored_files(attachment_dir)) == 1  # the file itself, no thumbnail


def test_an_image_stored_before_a_lower_limit_is_refused_on_request(agent_client, settings, attachment_dir):
    ticket, (image,) = _reply_with(agent_client, ("photo.png", _png(100, 100)))
    settings.ATTACHMENT_THUMBNAIL_MAX_PIXELS = 1000
    assert agent_client.get(f"/v1/attachments/{image.pk}/thumbnail").status_code == 404
    image.refresh_from_db()
    assert (image.thumbnail_refused, image.thumbnail.name) == (True, "")
    assert f"/v1/attachments/{image.pk}/thumbnail" not in _page(agent_client, ticket)


def test_a_thumbnail_needs_the_credentials_of_v1(anon, agent_client):
    _, (image,) = _reply_with(agent_client, ("photo.png", _png(10, 10)))
    assert anon.get(f"/v1/attachments/{image.pk}/thumbnail").status_code == 401
    assert not Attachment.objects.get(pk=image.pk).thumbnail


def test_a_damaged_image_gets_no_thumbnail_and_is_shown_as_a_link(agent_client, attachment_dir):
    ticket, (image,) = _reply_with(agent_client, ("broken.png", _png_header_only(50, 50, b"not zlib")))
    assert not image.thumbnail_refused  # its header is fine: found out when decoding
    assert agent_client.get(f"/v1/attachments/{image.pk}/thumbnail").status_code == 404
    image.refresh_from_db()
    assert image.thumbnail_refused
    assert f"/v1/attachments/{image.pk}/thumbnail" not in _page(agent_client, ticket)
    assert len(stored_files(attachment_dir)) == 1
