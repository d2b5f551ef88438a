"""Line breaks in a subject become spaces wherever the subject comes in (it becomes an email header)."""

import base64
import json

import pytest
from django.core import mail
from django.test import Client

from escalation.models import Incident
from notifications.models import Delivery
from notifications.outbox import delivery_send
from tests.factories import TicketFactory
from tickets.admin.forms import TicketConsoleForm
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

BROKEN = "Printer\r\nBcc: victim@example.com\nis on fire\u2028now"
ONE_LINE = "Printer Bcc: victim@example.com is on fire now"


def test_an_intake_subject_with_line_breaks_is_stored_on_one_line_and_its_emails_send(api, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    body = {
        "channel": "email",
        "name": "Dana",
        "email": "dana@example.com",
        "subject": BROKEN,
        "message": "Hi",
    }

    response = api.post("/v1/support/request", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["ticket"]["subject"] == ONE_LINE
    assert Ticket.objects.get().subject == ONE_LINE
    for delivery in Delivery.objects.filter(channel="email"):
        delivery_send(delivery_id=delivery.pk)
    assert sorted(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == [
        "sent",
        "sent",
    ]
    assert all("\n" not in message.subject for message in mail.outbox)


def test_a_ticket_created_or_edited_through_the_api_gets_a_one_line_subject(api):
    body = {"subject": BROKEN, "contact": {"name": "Dana", "email": "dana@example.com"}}
    created = api.post("/v1/tickets", body, format="json")
    assert created.json()["subject"] == ONE_LINE

    edited = api.patch(f"/v1/tickets/{created.json()['id']}", {"subject": "Still\r\nbroken"}, format="json")

    assert edited.json()["subject"] == "Still broken"


def test_an_inbound_email_subject_with_an_encoded_line_break_becomes_one_line(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "inbound:s3cret"}
    raw = "\r\n".join(
        [
            "From: Dana <dana@example.com>",
            "Subject: =?utf-8?q?Printer=0D=0ABcc=3A_victim=40example=2Ecom?=",
            "Message-ID: <crlf@mail.example>",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "It is on fire.",
        ]
    )
    response = Client().post(
        "/webhooks/email/postmark/inbound/",
        data=json.dumps({"RawEmail": raw}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"inbound:s3cret").decode(),
    )
    assert response.status_code == 200
    assert Ticket.objects.get().subject == "Printer Bcc: victim@example.com"


def test_the_console_form_puts_the_subject_on_one_line():
    ticket = TicketFactory()
    form = TicketConsoleForm(
        data={"subject": "Two\nlines", "status": ticket.status, "priority": ticket.priority},
        instance=ticket,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["subject"] == "Two lines"


def test_an_incident_title_from_the_api_is_one_line(api):
    response = api.post("/v1/incidents", {"title": "Database\r\ndown"}, format="json")
    assert response.status_code == 201, response.content
    assert Incident.objects.get().title == "Database down"
