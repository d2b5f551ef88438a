"""Each adapter with its real client library against a fake provider on 127.0.0.1."""

import time

import pytest
from django.core import mail

from notifications.channels import ChannelDeferred, ChannelError, ChannelNotConfigured, get_adapter
from notifications.channels import slack as slack_channel
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_create, delivery_send
from tests.notifications.conftest import TWILIO_SID
from tests.notifications.fakes import FakeTwilio, Reply

pytestmark = pytest.mark.django_db


def make(channel, recipient, **kwargs):
    return delivery_create(
        channel=channel,
        recipient=recipient,
        subject=kwargs.pop("subject", "Subject"),
        body=kwargs.pop("body", "Printer on fire"),
        idempotency_key=kwargs.pop("key", f"{channel}:{recipient}:{time.monotonic_ns()}"),
        **kwargs,
    )


def send(delivery):
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return outcome


# --- Slack --------------------------------------------------------------------------------


def test_slack_posts_the_text_channel_and_username(slack, settings):
    settings.SLACK_USERNAME = "SupportHub"
    delivery = make("slack", "#support")
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id == "200"
    (request,) = slack.requests
    assert request.path == slack.path
    assert request.json()["text"] == "Printer on fire"
    assert request.json()["channel"] == "#support"
    assert request.json()["username"] == "SupportHub"


def test_slack_429_is_retried_no_sooner_than_retry_after(slack):
    slack.answer(Reply(429, "rate_limited", {"Retry-After": "7"}))
    delivery = make("slack", "#support")
    outcome = send(delivery)
    assert delivery.status == DeliveryStatus.PENDING
    assert outcome.retry_in is not None and outcome.retry_in >= 7
    assert "Slack 429" in delivery.last_error


def test_slack_500_is_transient(slack):
    slack.answer(Reply(500, "server_error"))
    delivery = make("slack", "#support")
    assert send(delivery).retry_in is not None
    assert delivery.status == DeliveryStatus.PENDING


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (404, "channel_not_found"),
        (400, "invalid_payload"),
        (410, "channel_is_archived"),
        (403, "action_prohibited"),
    ],
)
def test_slack_4xx_fails_at_once_with_slacks_reason(slack, status, text):
    slack.answer(Reply(status, text))
    delivery = make("slack", "#support")
    outcome = send(delivery)
    assert outcome.retry_in is None
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert text in delivery.last_error and "permanent" in delivery.last_error


def test_slack_unreachable_is_transient(settings):
    from tests.services import free_port

    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook"
    settings.SLACK_MIN_INTERVAL_SECONDS = 0
    delivery = make("slack", "#support")
    assert send(delivery).retry_in is not None
    assert "ConnectionError" in delivery.last_error


def test_a_delivery_can_name_its_own_slack_webhook(slack, settings):
    settings.SLACK_WEBHOOK_URL = ""
    delivery = make(
        "slack", "#oncall", payload={"webhook_url": slack.url + "/other", "blocks": [{"type": "divider"}]}
    )
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT
    assert slack.requests[0].path == "/other"
    assert slack.requests[0].json()["blocks"] == [{"type": "divider"}]


def test_slack_sends_are_spaced_one_interval_apart_per_webhook(settings):
    url = f"http://127.0.0.1:9/hook-{time.monotonic_ns()}"
    other = url + "-other"
    assert slack_channel.reserve_slot(url, 0.3) == 0
    assert slack_channel.reserve_slot(other, 0.3) == 0, "each webhook has its own limit"
    waits = [slack_channel.reserve_slot(url, 0.3) for _ in range(3)]
    assert all(0.2 < wait < 0.5 for wait in waits), waits
    time.sleep(0.35)
    assert slack_channel.reserve_slot(url, 0.3) == 0
    assert slack_channel.reserve_slot(url, 0) == 0, "interval 0 turns spacing off"


def test_a_rate_limited_slack_send_is_rescheduled_without_using_an_attempt(slack, settings):
    settings.SLACK_MIN_INTERVAL_SECONDS = 30
    assert slack_channel.reserve_slot(settings.SLACK_WEBHOOK_URL, 30) == 0  # someone just sent
    delivery = make("slack", "#support")
    outcome = send(delivery)
    assert outcome.retry_in is not None and outcome.retry_in > 0
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert slack.requests == []


def test_unknown_channels_have_no_adapter():
    with pytest.raises(ChannelError) as caught:
        get_adapter("pigeon")
    assert caught.value.permanent


# --- Twilio -------------------------------------------------------------------------------


def test_sms_goes_through_the_twilio_client_to_the_fake_api(twilio):
    delivery = make("sms", "+1 415 555 0123", body="Your ticket SH-1001")
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id.startswith("SM")
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.form() == {"To": "+14155550123", "From": "+14155550100", "Body": "Your ticket SH-1001"}
    assert request.headers["authorization"].startswith("Basic ")


def test_long_sms_bodies_are_cut_to_twilios_limit(twilio):
    delivery = make("sms", "+14155550123", body="x" * 2000)
    send(delivery)
    assert len(twilio.requests[0].form()["Body"]) == 1600


def test_a_voice_call_reads_the_body_and_gathers_a_keypress(twilio):
    delivery = make("voice", "+14155550123", body="Urgent ticket SH-1001")
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id.startswith("CA")
    form = twilio.requests[0].form()
    assert twilio.requests[0].path.endswith("/Calls.json")
    twiml = form["Twiml"]
    assert "<Say>Urgent ticket SH-1001</Say>" in twiml
    assert f'action="https://help.example.com/webhooks/twilio/page?delivery={delivery.pk}"' in twiml
    assert 'numDigits="1"' in twiml


def test_a_long_call_text_is_cut_to_fit_twilios_twiml_limit(twilio):
    delivery = make("voice", "+14155550123", body="word " * 2000)
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT
    assert len(twilio.requests[0].form()["Twiml"]) < 4000


@pytest.mark.parametrize(("code", "hint"), [(21211, "invalid 'To' number"), (21610, "replied STOP")])
def test_twilio_400_errors_fail_permanently_with_the_reason(twilio, code, hint):
    twilio.answer(FakeTwilio.error(400, code, "The 'To' number is not valid"))
    delivery = make("sms", "+14155550123")
    assert send(delivery).retry_in is None
    assert delivery.status == DeliveryStatus.FAILED
    assert str(code) in delivery.last_error and hint in delivery.last_error


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_429_and_5xx_are_retried(twilio, status):
    twilio.answer(FakeTwilio.error(status, 20500, "try later"))
    delivery = make("voice", "+14155550123")
    assert send(delivery).retry_in is not None
    assert delivery.status == DeliveryStatus.PENDING


def test_twilio_unreachable_is_retried(twilio, settings):
    from tests.services import free_port

    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    delivery = make("sms", "+14155550123")
    assert send(delivery).retry_in is not None
    assert "Twilio request failed" in delivery.last_error


def test_sms_without_twilio_credentials_is_skipped():
    delivery = make("sms", "+14155550123")
    send(delivery)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "Twilio is not configured" in delivery.last_error


# --- Email: SMTP (aiosmtpd), anymail ESP (fake Postmark), anymail test backend --------------


def test_email_is_accepted_by_a_real_smtp_server_with_text_and_html(smtp):
    delivery = make(
        "email",
        "carol@example.com",
        subject="[SH-1001] Hello",
        payload={
            "html": "<p>Hi</p>",
            "headers": {"Message-ID": "<m1@support.example>", "In-Reply-To": "<c@x>"},
        },
    )
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_id == "<m1@support.example>"
    (message,) = smtp.messages
    assert message["Subject"] == "[SH-1001] Hello"
    assert message["To"] == "carol@example.com"
    assert message["In-Reply-To"] == "<c@x>"
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}


def test_a_worker_process_keeps_one_smtp_connection_for_many_emails(smtp):
    for n in range(3):
        delivery = make("email", f"carol{n}@example.com")
        send(delivery)
        assert delivery.status == DeliveryStatus.SENT
    assert len(smtp.messages) == 3
    assert len(set(smtp.peers)) == 1  # one connection, not one per message


def test_an_smtp_server_that_hung_up_since_the_last_email_is_reconnected_to(smtp, smtp_server):
    from aiosmtpd.controller import Controller

    first = make("email", "carol@example.com")
    send(first)
    # The server restarts on the same port: the kept connection is dead.
    smtp_server.controller.stop()
    restarted = Controller(smtp_server, hostname="127.0.0.1", port=smtp_server.port)
    restarted.start()
    try:
        second = make("email", "dave@example.com")
        send(second)
    finally:
        restarted.stop()
    assert second.status == DeliveryStatus.SENT
    assert [m["To"] for m in smtp.messages] == ["carol@example.com", "dave@example.com"]
    assert len(set(smtp.peers)) == 2


def test_an_smtp_550_for_the_recipient_fails_permanently(smtp):
    smtp.refuse.add("ghost@example.com")
    delivery = make("email", "ghost@example.com")
    assert send(delivery).retry_in is None
    assert delivery.status == DeliveryStatus.FAILED
    assert "refused the recipient" in delivery.last_error


def test_an_unreachable_smtp_server_is_retried(smtp, settings):
    from tests.services import free_port

    settings.EMAIL_PORT = free_port()
    delivery = make("email", "carol@example.com")
    assert send(delivery).retry_in is not None
    assert "SMTP connection failed" in delivery.last_error


def test_email_through_an_anymail_esp_records_the_esp_message_id(postmark):
    delivery = make("email", "carol@example.com")
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT
    (request,) = postmark.requests
    assert request.json()["To"] == "carol@example.com"
    assert delivery.provider_id and delivery.provider_id != "<"


def test_an_esp_5xx_is_retried(postmark):
    postmark.answer(Reply(500, {"ErrorCode": 500, "Message": "down"}))
    delivery = make("email", "carol@example.com")
    assert send(delivery).retry_in is not None
    assert "ESP error 500" in delivery.last_error


def test_an_esp_that_rejects_the_recipient_fails_permanently(postmark):
    postmark.answer(
        Reply(
            422,
            {
                "ErrorCode": 406,
                "Message": "You tried to send to a recipient that has been marked as inactive.\n"
                "Found inactive addresses: carol@example.com.\nInactive recipients are ones that have "
                "generated a hard bounce or a spam complaint.",
            },
        )
    )
    delivery = make("email", "carol@example.com")
    assert send(delivery).retry_in is None
    assert delivery.status == DeliveryStatus.FAILED


def test_the_anymail_test_backend_collects_the_message(anymail_test_backend):
    delivery = make("email", "carol@example.com", payload={"html": "<b>x</b>"})
    send(delivery)
    assert delivery.status == DeliveryStatus.SENT
    assert mail.outbox[0].to == ["carol@example.com"]


def test_adapter_errors_carry_permanence_and_retry_after():
    error = ChannelError("nope", permanent=True, retry_after=3)
    assert (error.reason, error.permanent, error.retry_after) == ("nope", True, 3)
    assert "retry in" in str(ChannelDeferred(1.5))
    assert ChannelNotConfigured("x").reason == "x"
    assert Delivery.objects.count() == 0
