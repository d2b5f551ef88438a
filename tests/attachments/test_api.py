"""POST /v1/messages with files, their place in messages and the schema, and their download."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from supporthub.roles import KeyScope
from tests.attachments.conftest import PDF, PNG, stored_files
from tests.factories import TicketFactory, UserFactory, make_api_key
from tickets.attachments import Upload, attachment_signed_url
from tickets.models import Attachment, Message
from tickets.services import message_create

pytestmark = pytest.mark.django_db


def _upload(api, ticket, *files, **fields):
    data = {"ticket": ticket.pk, "direction": "note", "body": "files attached", **fields}
    data["attachments"] = [
        SimpleUploadedFile(name, content, content_type=sent_as) for name, content, sent_as in files
    ]
    return api.post("/v1/messages", data, format="multipart")


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def test_upload_list_and_download_round_trip(api, anon, client, agent):
    ticket = TicketFactory()
    response = _upload(
        api, ticket, ("screen.png", PNG, "image/png"), ("log.txt", b"error at line 3\n", "text/plain")
    )
    assert response.status_code == 201, response.content
    shown = response.json()["attachments"]
    assert [(item["filename"], item["content_type"], item["size"]) for item in shown] == [
        ("screen.png", "image/png", len(PNG)),
        ("log.txt", "text/plain", 16),
    ]
    listed = api.get(f"/v1/messages?ticket={ticket.pk}").json()["results"][0]["attachments"]
    assert listed == shown
    assert api.get(f"/v1/messages/{response.json()['id']}").json()["attachments"] == shown

    image, text = (_path(item["url"]) for item in shown)
    download = api.get(image)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("inline")
    assert download["X-Content-Type-Options"] == "nosniff"
    log = api.get(text)
    assert log["Content-Disposition"] == 'attachment; filename="log.txt"'

    assert anon.get(image).status_code == 401
    bad_key = APIClient()
    bad_key.credentials(HTTP_X_API_KEY="not-a-key")
    assert bad_key.get(image).status_code == 401
    client.force_login(agent)  # a staff session works like a key
    assert client.get(image).status_code == 200
    client.force_login(UserFactory(username="not.staff", is_staff=False))
    assert client.get(image).status_code == 403
    assert api.get("/v1/attachments/999999/download").status_code == 404


def test_json_bodies_keep_working(api):
    ticket = TicketFactory()
    response = api.post(
        "/v1/messages", {"ticket": ticket.pk, "direction": "note", "body": "plain"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["attachments"] == []


def test_a_pdf_renamed_to_png_is_served_as_a_pdf_download(api):
    response = _upload(api, TicketFactory(), ("photo.png", PDF, "image/png"))
    (shown,) = response.json()["attachments"]
    assert shown["content_type"] == "application/pdf"
    download = api.get(_path(shown["url"]))
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="photo.png"'


def test_a_file_over_the_limit_gets_413_and_nothing_is_written(api, settings, attachment_dir):
    settings.ATTACHMENT_MAX_FILE_BYTES = 100
    ticket = TicketFactory()
    response = _upload(api, ticket, ("big.pdf", PDF + b"x" * 100, "application/pdf"))
    assert response.status_code == 413, response.content
    assert "attachments" in response.json()["errors"]
    assert not Message.objects.filter(ticket=ticket).exists()
    assert Attachment.objects.count() == 0
    assert stored_files(attachment_dir) == []


def test_a_body_over_the_upload_limit_gets_413_before_it_is_read(api, settings):
    settings.MAX_UPLOAD_BODY_BYTES = 1000
    response = _upload(api, TicketFactory(), ("big.pdf", PDF + b"x" * 2000, "application/pdf"))
    assert response.status_code == 413


def test_refused_types_and_empty_files_are_named_in_a_400(api):
    ticket = TicketFactory()
    exe = _upload(api, ticket, ("setup.pdf", b"MZ" + b"\x00" * 200, "application/pdf"))
    assert exe.status_code == 400
    assert "not accepted" in exe.json()["errors"]["attachments"][0]
    empty = _upload(api, ticket, ("empty.txt", b"", "text/plain"))
    assert empty.status_code == 400
    assert "attachments.0" in empty.json()["errors"]


def test_a_signed_link_works_without_credentials_until_it_expires(anon, settings):
    ticket = TicketFactory()
    message = message_create(
        ticket=ticket, direction="note", body="x", attachments=[Upload.of_bytes("a.pdf", PDF)]
    )
    url = _path(attachment_signed_url(message.attachments.get()))
    response = anon.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="a.pdf"'
    assert anon.get(url[:-3] + "abc").status_code == 404
    settings.ATTACHMENT_LINK_MAX_AGE_SECONDS = -1
    assert anon.get(url).status_code == 404


def test_the_schema_describes_attachments(api):
    schema = api.get("/v1/schema?format=json").json()
    message = schema["components"]["schemas"]["Message"]
    assert message["properties"]["attachments"]["items"]["$ref"] == "#/components/schemas/Attachment"
    assert set(schema["components"]["schemas"]["Attachment"]["properties"]) == {
        "id",
        "filename",
        "content_type",
        "size",
        "url",
    }
    content = schema["paths"]["/v1/messages"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert "/v1/attachments/{id}/download" in schema["paths"]


@pytest.mark.parametrize(
    ("scope", "status"),
    [(KeyScope.INTAKE, 403), (KeyScope.READ_ONLY, 200), (KeyScope.AGENT, 200), (KeyScope.ADMIN, 200)],
)
def test_a_download_needs_a_key_whose_scope_reads_messages(scope, status):
    message = message_create(
        ticket=TicketFactory(), direction="note", body="x", attachments=[Upload.of_bytes("a.pdf", PDF)]
    )
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_api_key(f"key-{scope}", scope=scope))
    assert client.get(f"/v1/attachments/{message.attachments.get().pk}/download").status_code == status


def test_an_upload_needs_a_scope_that_adds_messages():
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_api_key("reader", scope=KeyScope.READ_ONLY))
    ticket = TicketFactory()
    assert _upload(client, ticket, ("a.png", PNG, "image/png")).status_code == 403
    assert Attachment.objects.count() == 0


def test_a_replayed_upload_writes_nothing_and_other_files_under_the_same_key_are_422():
    ticket = TicketFactory()
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=make_api_key("retrying"), HTTP_IDEMPOTENCY_KEY="upload-1")
    first = _upload(api, ticket, ("a.png", PNG, "image/png"))
    again = _upload(api, ticket, ("a.png", PNG, "image/png"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Attachment.objects.count() == 1
    other = _upload(api, ticket, ("a.png", PNG + b"changed", "image/png"))
    assert other.status_code == 422
    assert Attachment.objects.count() == 1
