"""The S3 backend (django-storages) round trip, against moto's S3 server on 127.0.0.1."""

import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.attachments.conftest import PDF, PNG, attachment_storage_as
from tests.factories import TicketFactory
from tests.services import ROOT, free_port
from tickets.models import Attachment

BUCKET = "supporthub-attachments"
KEYS = {"access_key": "testing-key", "secret_key": "testing-secret"}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
    )
    client.create_bucket(Bucket=BUCKET)
    options = {"bucket_name": BUCKET, "endpoint_url": s3_endpoint, "region_name": "us-east-1", **KEYS,
               "location": "attachments", "default_acl": None, "file_overwrite": False}  # fmt: skip
    with attachment_storage_as({"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}):
        yield client


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_upload_download_thumbnail_and_delete_round_trip_through_s3(api, bucket):
    ticket = TicketFactory()
    files = [SimpleUploadedFile("screen.png", PNG), SimpleUploadedFile("report.png", PDF)]
    response = api.post(
        "/v1/messages",
        {"ticket": ticket.pk, "direction": "note", "body": "files", "attachments": files},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    image, pdf = Attachment.objects.order_by("pk")
    assert _keys(bucket) == sorted(f"attachments/{a.file.name}" for a in (image, pdf))
    assert pdf.content_type == "application/pdf"  # typed by content, as on the file system

    shown = response.json()["attachments"]
    download = api.get(shown[1]["url"].removeprefix("http://127.0.0.1:8000"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"] == 'attachment; filename="report.png"'

    thumbnail = api.get(f"/v1/attachments/{image.pk}/thumbnail")  # made now, stored in the bucket
    assert (thumbnail.status_code, thumbnail["Content-Type"]) == (200, "image/webp")
    image.refresh_from_db()
    assert f"attachments/{image.thumbnail.name}" in _keys(bucket) and len(_keys(bucket)) == 3

    ticket.delete()  # its files and the thumbnail go with it
    assert _keys(bucket) == []


def test_the_environment_selects_the_s3_backend():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "config = settings.STORAGES['attachments']; print(config['BACKEND'], config['OPTIONS']['endpoint_url'])"
    )
    env = {"DEBUG": "true", "ENV_FILE": "/dev/null", "DJANGO_SETTINGS_MODULE": "supporthub.settings",
           "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": "/tmp",
           "ATTACHMENT_S3_BUCKET": BUCKET, "ATTACHMENT_S3_ENDPOINT_URL": "http://127.0.0.1:9"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd="/tmp", capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["storages.backends.s3.S3Storage", "http://127.0.0.1:9"], result.stderr
