"""Who the team is (notifications.recipients), and the notices about tickets that use it."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from notifications.models import Delivery
from notifications.recipients import team_emails, team_slack, ticket_emails
from tests.factories import ContactFactory, TicketFactory, UserFactory
from tests.team import TEAM_EMAIL, assert_each_team_address_emailed_once

pytestmark = pytest.mark.django_db

CUSTOMER = "carol@customer.example"


@pytest.fixture
def team(settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL


def test_team_addresses_are_split_stripped_and_kept_once_whatever_their_case(settings):
    settings.SUPPORT_TEAM_EMAIL = " a@example.com,B@example.com , b@example.com,, A@EXAMPLE.COM "
    assert team_emails() == ["a@example.com", "B@example.com"]


def test_an_invalid_team_address_is_logged_and_skipped(settings, caplog):
    settings.SUPPORT_TEAM_EMAIL = "a@example.com, not-an-address, b@example.com"
    assert team_emails() == ["a@example.com", "b@example.com"]
    assert "SUPPORT_TEAM_EMAIL holds an invalid address 'not-an-address'" in caplog.text


def test_no_team_email_means_no_team_addresses(settings):
    settings.SUPPORT_TEAM_EMAIL = ""
    assert team_emails() == []


def test_the_team_has_no_slack_target_until_a_webhook_is_set(settings):
    settings.SLACK_WEBHOOK_URL = ""
    settings.SLACK_CHANNEL = "#support"
    assert team_slack() is None
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"
    assert team_slack() == "#support"
    settings.SLACK_CHANNEL = ""
    assert team_slack() == "slack-webhook"  # the channel the webhook was made for


def test_a_ticket_is_heard_about_by_its_assignee_else_by_the_team(team):
    assert ticket_emails(TicketFactory(assignee=UserFactory(email="erin@example.com"))) == [
        "erin@example.com"
    ]
    assert ticket_emails(TicketFactory(assignee=UserFactory(email=""))) == ["a@example.com", "B@example.com"]
    assert ticket_emails(TicketFactory()) == ["a@example.com", "B@example.com"]


# --- a test per path ---------------------------------------------------------------------
def test_a_new_ticket_emails_each_team_address_once(api, team):
    body = {
        "channel": "email",
        "name": "Carol",
        "email": CUSTOMER,
        "subject": "Printer",
        "message": "On fire",
    }
    response = api.post("/v1/support/request", body, format="json")
    assert response.status_code == 201, response.json()
    assert_each_team_address_emailed_once(Delivery.objects.exclude(recipient=CUSTOMER))


def test_a_customers_reply_on_an_unassigned_ticket_emails_each_team_address_once(settings, team):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "inbound:s3cret-pass"}
    ticket = TicketFactory(reference="SH-1042", contact=ContactFactory(email=CUSTOMER))
    raw = "\r\n".join(
        [f"From: Carol <{CUSTOMER}>", "To: help@support.example", "Subject: Re: [SH-1042] Printer",
         "Message-ID: <reply@mail.example>", "Content-Type: text/plain; charset=utf-8", "", "Still on fire."]
    )  # fmt: skip
    response = Client().post(
        "/webhooks/email/postmark/inbound/",
        data=json.dumps({"RawEmail": raw}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"inbound:s3cret-pass").decode(),
    )
    assert response.status_code == 200
    assert_each_team_address_emailed_once(Delivery.objects.filter(message__ticket=ticket))
