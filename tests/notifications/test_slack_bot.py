"""Slack with a bot token: chat.postMessage through the real slack-sdk client to any channel,
against a fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

import pytest

from notifications.models import DeliveryStatus
from notifications.outbox import delivery_create, delivery_send
from notifications.recipients import WEBHOOK_CHANNEL, team_slack
from tests.notifications.fakes import FakeSlackApi

pytestmark = pytest.mark.django_db


def send(recipient: str, key: str = "k", **payload):
    delivery = delivery_create(
        channel="slack", recipient=recipient, body="Checkout is down", idempotency_key=key, payload=payload
    )
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery, outcome


def test_a_bot_token_posts_to_the_deliverys_channel(slack_api, slack):
    delivery, _ = send("#ops-p1")
    assert delivery.status == DeliveryStatus.SENT
    (request,) = slack_api.requests
    assert request.headers["authorization"] == "Bearer xoxb-test-token"
    body = request.json()
    assert (body["channel"], body["text"], body["username"]) == ("#ops-p1", "Checkout is down", "SupportHub")
    channel, _, ts = delivery.provider_id.rpartition(":")  # what chat.update needs
    assert channel == "#ops-p1" and ts.replace(".", "").isdigit()
    assert slack.requests == []  # not the webhook


def test_the_webhooks_own_channel_still_goes_to_the_webhook(slack_api, slack):
    delivery, _ = send(WEBHOOK_CHANNEL)
    assert delivery.status == DeliveryStatus.SENT
    assert slack_api.requests == [] and len(slack.requests) == 1


def test_a_token_and_a_team_channel_configure_slack_without_a_webhook(settings):
    settings.SLACK_WEBHOOK_URL = ""
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_CHANNEL = ""
    assert team_slack() is None
    settings.SLACK_CHANNEL = "#support"
    assert team_slack() == "#support"


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth", "missing_scope"])
def test_a_wrong_channel_or_token_fails_permanently(slack_api, error):
    slack_api.answer(FakeSlackApi.error(error))
    delivery, outcome = send("#nowhere")
    assert delivery.status == DeliveryStatus.FAILED and outcome.retry_in is None
    assert error in delivery.last_error


def test_a_rate_limit_is_retried_after_retry_after(slack_api):
    slack_api.answer(FakeSlackApi.error("ratelimited", 429, **{"Retry-After": "7"}))
    delivery, outcome = send("#ops")
    assert delivery.status == DeliveryStatus.PENDING and outcome.retry_in >= 7


def test_slack_server_errors_are_transient(slack_api):
    slack_api.answer(FakeSlackApi.error("internal_error", 500))
    delivery, outcome = send("#ops")
    assert delivery.status == DeliveryStatus.PENDING and outcome.retry_in is not None


def test_an_escalation_slack_step_posts_to_its_own_channel(slack_api, slack, settings):
    from escalation import engine, services
    from escalation.models import EscalationPolicy, EscalationStep, IncidentPage

    policy = EscalationPolicy.objects.create(name="Chat")
    step = EscalationStep(policy=policy, position=1, kind="slack", slack_channel="#ops-p1", wait_minutes=5)
    step.full_clean()
    step.save()
    incident = services.incident_trigger(reason="api", title="Checkout down", policy=policy)
    engine.incident_advance(incident_id=incident.pk)
    page = IncidentPage.objects.get(incident=incident)
    assert delivery_send(delivery_id=page.delivery_id).status == DeliveryStatus.SENT
    assert [r.json()["channel"] for r in slack_api.requests] == ["#ops-p1"]
    assert slack.requests == []
