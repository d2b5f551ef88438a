"""With a real Celery worker on Redis, an urgent ticket's first page goes out without waiting for beat."""

from __future__ import annotations

import time
from datetime import date

import pytest

from escalation.models import IncidentPage
from tests.escalation.conftest import add_layer
from tests.factories import ContactFactory
from tests.services import EVENTUALLY, celery_worker, require_postgres
from tickets import services as ticket_services
from tickets.models import TicketPriority


@pytest.fixture
def fresh_broker_pools():
    """Leave no pooled broker connection behind: tests/services.broker() force-closes the shared
    kombu pool for a URL, and a pool this test created would then be handed out closed."""
    import kombu.pools

    from supporthub.celery import app

    yield
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_on_commit_kick_pages_the_oncall_person_through_a_real_worker(
    tmp_path, support_schedule, dana, fresh_broker_pools
):
    require_postgres()
    add_layer(support_schedule, [dana], unit="weeks", start=date(2026, 1, 1))
    with celery_worker(tmp_path, concurrency=1):
        ticket = ticket_services.ticket_create(
            contact=ContactFactory(), subject="Outage", channel="email", priority=TicketPriority.URGENT
        )
        deadline = time.monotonic() + EVENTUALLY
        while (
            time.monotonic() < deadline and not IncidentPage.objects.filter(incident__ticket=ticket).exists()
        ):
            time.sleep(0.1)
    pages = IncidentPage.objects.filter(incident__ticket=ticket).order_by("id")
    assert [(p.channel, p.recipient, p.status) for p in pages] == [
        ("sms", "+14155550101", "sent"),
        ("voice", "+14155550101", "sent"),
    ], (tmp_path / "worker.log").read_text()[-3000:]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_slack_click_is_answered_at_once_and_a_real_worker_redraws_the_message(
    tmp_path, client, settings, fresh_broker_pools
):
    from django.contrib.auth.models import Group
    from django.core.cache import cache

    from escalation import services
    from escalation.models import EscalationPolicy, EscalationStep, IncidentStatus
    from supporthub.roles import AGENT
    from tests.escalation.test_slack_app import click, click_body
    from tests.factories import UserFactory
    from tests.notifications.fakes import FakeSlackApi

    require_postgres()
    with FakeSlackApi().running() as slack_api:
        slack = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": slack_api.api_url}
        for name, value in {**slack, "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5"}.items():
            setattr(settings, name, value)
        Group.objects.get(name=AGENT).user_set.add(UserFactory(username="dana"))
        slack_api.members["U0DANA"] = "dana@support.example"
        cache.delete("slack:user-email:U0DANA")  # asked afresh
        policy = EscalationPolicy.objects.create(name="Chat")
        EscalationStep.objects.create(
            policy=policy, position=1, kind="slack", slack_channel="#ops", wait_minutes=5
        )
        incident = services.incident_trigger(reason="api", title="Checkout down", policy=policy)
        with celery_worker(tmp_path, concurrency=1, **slack):
            response = click(client, click_body(incident.pk, "incident_acknowledge", action_ts="9.1"))
            assert response.status_code == 200
            incident.refresh_from_db()
            assert incident.status == IncidentStatus.ACKNOWLEDGED  # acted on before answering
            deadline = time.monotonic() + EVENTUALLY
            while time.monotonic() < deadline and not clicked_message_updates(slack_api):
                time.sleep(0.1)
        # The clicked message; the page the worker posted may be redrawn too, if it went out first.
        (update,) = clicked_message_updates(slack_api)
        assert "Acknowledged by dana via slack" in update.body.decode()


def clicked_message_updates(slack_api) -> list:  # type: ignore[no-untyped-def]
    from tests.escalation.test_slack_app import CHANNEL_ID, MESSAGE_TS

    return [
        update
        for update in slack_api.calls("chat.update")
        if (update.json()["channel"], update.json()["ts"]) == (CHANNEL_ID, MESSAGE_TS)
    ]
