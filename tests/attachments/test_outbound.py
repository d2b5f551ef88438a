"""An agent's reply carries its files: attached to the email at send time, linked in an SMS."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_send
from tests.attachments.conftest import PDF, PNG
from tests.factories import ContactFactory, TicketFactory
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


def _reply(api, ticket, *files):
    data = {
        "ticket": ticket.pk,
        "direction": "outbound",
        "body": "Here is the fix.",
        "attachments": [SimpleUploadedFile(name, content) for name, content in files],
    }
    response = api.post("/v1/messages", data, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_email_reply_carries_its_files_read_from_storage_at_send_time(api):
    ticket = TicketFactory(channel="email", contact=ContactFactory(email="dana@example.com"))
    reply = _reply(api, ticket, ("patch.pdf", PDF), ("screen.png", PNG))
    delivery = Delivery.objects.get(message_id=reply["id"])
    assert delivery.payload["attachments"] == [item["id"] for item in reply["attachments"]]

    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    (sent,) = mail.outbox
    assert sent.attachments == [("patch.pdf", PDF, "application/pdf"), ("screen.png", PNG, "image/png")]
    delivery.refresh_from_db()
    assert delivery.payload["attachments"] == [item["id"] for item in reply["attachments"]]
    assert delivery.payload["html"]  # rendered, and still says what it carried


def test_an_attachment_deleted_before_sending_is_left_out(api):
    ticket = TicketFactory(channel="email", contact=ContactFactory(email="dana@example.com"))
    reply = _reply(api, ticket, ("patch.pdf", PDF), ("screen.png", PNG))
    Attachment.objects.filter(pk=reply["attachments"][0]["id"]).delete()
    delivery = Delivery.objects.get(message_id=reply["id"])
    assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SENT
    assert [name for name, _, _ in mail.outbox[0].attachments] == ["screen.png"]


def test_the_deliveries_admin_shows_what_an_email_carried(api, admin_client):
    ticket = TicketFactory(channel="email", contact=ContactFactory(email="dana@example.com"))
    reply = _reply(api, ticket, ("patch.pdf", PDF))
    delivery = Delivery.objects.get(message_id=reply["id"])
    page = admin_client.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()
    assert f'href="/v1/attachments/{reply["attachments"][0]["id"]}/download">patch.pdf</a>' in page
    assert "application/pdf" in page


def test_an_sms_reply_sends_a_short_lived_link_to_each_file(api, anon):
    ticket = TicketFactory(channel="phone", contact=ContactFactory(phone="+14155550123"))
    reply = _reply(api, ticket, ("map.png", PNG))
    delivery = Delivery.objects.get(message_id=reply["id"])
    text, link = delivery.body.split("\n")
    assert text.endswith("Here is the fix.")
    response = anon.get(link.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
