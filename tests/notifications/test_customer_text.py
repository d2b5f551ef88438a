"""Customer text reaches Slack escaped and SMS without control characters."""

import pytest

from escalation import paging
from notifications.builders import notify_inbound_message, team_notice, ticket_notice
from notifications.models import Delivery
from notifications.outbox import delivery_create, delivery_send
from tests.factories import ContactFactory, MessageFactory, TicketFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<!channel> <!everyone> <https://evil.example|Reset your password> & more"
ESCAPED = "&lt;!channel&gt; &lt;!everyone&gt; &lt;https://evil.example|Reset your password&gt; &amp; more"


def slack_text(slack, delivery):
    delivery_send(delivery_id=delivery.pk)
    return slack.requests[-1].json()["text"]


def test_a_new_tickets_slack_message_escapes_the_subject_and_name_but_keeps_our_link(api, slack):
    response = api.post(
        "/v1/support/request",
        {"channel": "email", "name": HOSTILE, "email": "eve@example.com", "subject": HOSTILE, "message": "x"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    text = slack_text(slack, Delivery.objects.get(channel="slack"))
    reference = response.json()["ticket"]["reference"]
    assert text.count(ESCAPED) == 2
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert f"/change/|{reference}>" in text, "our own link to the ticket stays a link"


def test_a_customer_reply_on_slack_is_escaped(slack):
    ticket = TicketFactory(contact=ContactFactory(name="<!here>"))
    message = MessageFactory(ticket=ticket, direction="inbound", body=HOSTILE)
    (delivery,) = [d for d in notify_inbound_message(message) if d.channel == "slack"]
    text = slack_text(slack, delivery)
    assert ESCAPED in text and "&lt;!here&gt;" in text and "<!" not in text


def test_ticket_and_team_notices_escape_slack_text_only(slack):
    ticket = TicketFactory()
    notice = ticket_notice(ticket=ticket, subject=f"SMS from {HOSTILE}", body=HOSTILE, key="sms:x")
    assert slack_text(slack, next(d for d in notice if d.channel == "slack")).count(ESCAPED) == 2
    team = team_notice(text=f"SLA breached on {HOSTILE}", key="sla:x", ticket=ticket)
    assert ESCAPED in slack_text(slack, next(d for d in team if d.channel == "slack"))
    email = next(d for d in team if d.channel == "email")
    assert email.subject == f"SLA breached on {HOSTILE}", "email text is not Slack markup"


def test_escalation_pages_to_slack_are_escaped():
    delivery_id = paging.notify(channel="slack", recipient="#oncall", body=HOSTILE, idempotency_key="p:1")
    assert Delivery.objects.get(pk=delivery_id).body == ESCAPED


def test_sms_bodies_lose_their_control_characters_but_keep_line_breaks(twilio):
    body = "Bill\x1b[31m due\x07\x0b \u202etxet\u202c now\r\nplease\rpay\x85"
    delivery = delivery_create(channel="sms", recipient="+14155550123", body=body, idempotency_key="sms:1")
    delivery_send(delivery_id=delivery.pk)
    assert twilio.requests[0].form()["Body"] == "Bill[31m due txet now\nplease\npay"
