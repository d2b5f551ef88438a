"""The Slack app: buttons on pages, signed clicks acted on once as the mapped SupportHub user,
the message redrawn in place, and /oncall. Requests are signed with Slack's algorithm; the
real slack-sdk client talks to a fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from escalation import engine, services, slack, tasks
from escalation.models import (
    EscalationPolicy,
    EscalationStep,
    IncidentEvent,
    IncidentPage,
    IncidentStatus,
    SlackAction,
)
from notifications.outbox import delivery_send
from supporthub.exceptions import DomainError
from supporthub.roles import AGENT
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.notifications.fakes import FakeSlack, FakeSlackApi, Reply

pytestmark = pytest.mark.django_db

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL_ID = "C0OPS"
MESSAGE_TS = "1765110000.000100"


@pytest.fixture
def slack_api(settings):
    with FakeSlackApi().running() as server:
        settings.SLACK_BOT_TOKEN = "xoxb-test-token"
        settings.SLACK_API_URL = server.api_url
        settings.SLACK_SIGNING_SECRET = SECRET
        settings.SLACK_MIN_INTERVAL_SECONDS = 0
        yield server


@pytest.fixture(autouse=True)
def _forget_slack_emails():
    from django.core.cache import cache

    cache.delete_many([f"slack:user-email:{uid}" for uid in ("U0DANA", "U0ELI", "U0NOBODY", "U0GUEST")])


@pytest.fixture
def published(monkeypatch):
    """Tasks published by name are recorded; the Slack app's own run at once, as a worker would."""
    sent: list[tuple[str, tuple]] = []
    runs = {slack.REFRESH_TASK: tasks.slack_message_refresh, slack.RESPOND_TASK: tasks.slack_respond}

    def publish(name, *args, countdown=None):
        sent.append((name, args))
        if name in runs:
            runs[name](*args)
        return True

    monkeypatch.setattr("supporthub.tasks.publish", publish)
    monkeypatch.setattr(slack, "publish", publish)
    return sent


@pytest.fixture
def dana(slack_api):
    user = make_oncall_user("dana", "+14155550101")
    Group.objects.get(name=AGENT).user_set.add(user)
    slack_api.members["U0DANA"] = "Dana@Support.example"  # matched whatever its case
    return user


@pytest.fixture
def policy(slack_api):
    policy = EscalationPolicy.objects.create(name="Chat", runbook="https://wiki.example/checkout")
    for position, channel in enumerate(["#ops-p1", "#ops-p2"], start=1):
        step = EscalationStep(
            policy=policy, position=position, kind="slack", slack_channel=channel, wait_minutes=5
        )
        step.full_clean()
        step.save()
    return policy


@pytest.fixture
def incident(policy):
    incident = services.incident_trigger(reason="api", title="Checkout <!channel> down", policy=policy)
    engine.incident_advance(incident_id=incident.pk)
    incident.refresh_from_db()
    return incident


def signature(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signing: v0= HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp, "HTTP_X_SLACK_SIGNATURE": f"v0={digest}"}


def click_body(
    incident_id: int, action: str, *, user: str = "U0DANA", action_ts: str = "1765110042.001", **extra
):
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower()},
        "team": {"id": "T0TEAM"},
        "container": {"type": "message", "message_ts": MESSAGE_TS, "channel_id": CHANNEL_ID},
        "channel": {"id": CHANNEL_ID},
        "trigger_id": f"trigger-{action_ts}",
        "response_url": extra.pop("response_url", ""),
        "actions": [
            {"type": "button", "action_id": action, "block_id": f"incident:{incident_id}",
             "value": str(incident_id), "action_ts": action_ts},
        ],
    }  # fmt: skip
    payload.update(extra)
    return urlencode({"payload": json.dumps(payload)})


def post(client, path: str, body: str, **headers: str):
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded", **headers)


def click(client, body: str, **headers: str):
    return post(client, "/webhooks/slack/interactivity", body, **(headers or signature(body)))


def test_a_page_posted_with_the_bot_token_carries_acknowledge_resolve_and_escalate_buttons(
    incident, slack_api
):
    page = IncidentPage.objects.get(incident=incident)
    delivery_send(delivery_id=page.delivery_id)
    (request,) = slack_api.calls("chat.postMessage")
    body = request.json()
    assert body["channel"] == "#ops-p1"
    (actions,) = [block for block in body["blocks"] if block["type"] == "actions"]
    assert [(b["action_id"], b["value"]) for b in actions["elements"]] == [
        ("incident_acknowledge", str(incident.pk)),
        ("incident_resolve", str(incident.pk)),
        ("incident_escalate", str(incident.pk)),
    ]
    title = body["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt;" in title  # no mention from a title
    assert title.endswith("\nRunbook: https://wiki.example/checkout")


def test_a_click_acknowledges_as_the_mapped_user_and_the_message_is_redrawn_after_the_answer(
    client, incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = click(client, click_body(incident.pk, "incident_acknowledge"))
        assert slack_api.calls("chat.update") == []  # answered before any Slack call but users.info
    assert response.status_code == 200
    assert response.json()["text"] == f"Incident #{incident.pk} acknowledged by dana."
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, dana)
    event = IncidentEvent.objects.get(incident=incident, kind="acknowledged")
    assert (event.actor, event.via) == (dana, "slack")
    (update,) = slack_api.calls("chat.update")
    body = update.json()
    assert (body["channel"], body["ts"]) == (CHANNEL_ID, MESSAGE_TS)
    texts = json.dumps(body["blocks"])
    assert "*Acknowledged* by dana" in texts and "Acknowledged by dana via slack" in texts
    (actions,) = [block for block in body["blocks"] if block["type"] == "actions"]
    assert [b["action_id"] for b in actions["elements"]] == ["incident_resolve", "incident_escalate"]


def test_resolve_closes_the_incident_and_leaves_the_message_without_buttons(
    client, incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert click(client, click_body(incident.pk, "incident_resolve")).status_code == 200
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by) == (IncidentStatus.RESOLVED, dana)
    (update,) = slack_api.calls("chat.update")
    assert [b["type"] for b in update.json()["blocks"]] == ["section", "context", "context"]


def test_escalate_runs_the_next_step_now_as_the_clicking_user(
    client, incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        click(client, click_body(incident.pk, "incident_escalate"))
    assert (services.ADVANCE_TASK, (incident.pk,)) in published
    event = IncidentEvent.objects.get(incident=incident, kind="escalated")
    assert (event.actor, event.via) == (dana, "slack")
    assert engine.incident_advance(incident_id=incident.pk)  # the kick a worker would run
    assert [page.recipient for page in IncidentPage.objects.filter(incident=incident)] == [
        "#ops-p1",
        "#ops-p2",
    ]


def test_a_replayed_click_acts_once(
    client, incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    body = click_body(incident.pk, "incident_escalate")
    headers = signature(body)
    with django_capture_on_commit_callbacks(execute=True):
        first = click(client, body, **headers)
    with django_capture_on_commit_callbacks(execute=True):
        replay = click(client, body, **headers)
    assert first.status_code == replay.status_code == 200
    assert replay.json()["text"] == "This click was already handled."
    assert IncidentEvent.objects.filter(incident=incident, kind="escalated").count() == 1
    assert SlackAction.objects.count() == 1
    assert len(slack_api.calls("chat.update")) == 1
    assert [name for name, _ in published].count(services.ADVANCE_TASK) == 1


def test_another_click_by_the_same_person_is_a_new_action(client, incident, dana, published):
    click(client, click_body(incident.pk, "incident_escalate", action_ts="1765110042.001"))
    click(client, click_body(incident.pk, "incident_escalate", action_ts="1765110099.002"))
    assert IncidentEvent.objects.filter(incident=incident, kind="escalated").count() == 2


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signature(body, secret="not-the-secret"), id="wrong-secret"),
        pytest.param(lambda body: signature(body + "&x=1"), id="other-body"),
        pytest.param(lambda body: signature(body, timestamp=int(time.time()) - 6 * 60), id="stale"),
        pytest.param(lambda body: signature(body, timestamp=int(time.time()) + 6 * 60), id="future"),
        pytest.param(
            lambda body: {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon", "HTTP_X_SLACK_SIGNATURE": "v0=00"},
            id="timestamp-not-a-number",
        ),
        pytest.param(lambda body: {}, id="unsigned"),
    ],
)
def test_a_forged_or_stale_click_gets_401_and_changes_nothing(
    client, incident, dana, slack_api, published, headers
):
    body = click_body(incident.pk, "incident_resolve")
    response = post(client, "/webhooks/slack/interactivity", body, **headers(body))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED
    assert not SlackAction.objects.exists() and not IncidentEvent.objects.filter(via="slack").exists()
    assert slack_api.calls("users.info") == [] and published == []


def test_without_a_signing_secret_every_request_is_refused(client, settings, incident, dana):
    settings.SLACK_SIGNING_SECRET = ""
    body = click_body(incident.pk, "incident_resolve")
    assert click(client, body).status_code == 401
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED


def test_an_unmapped_slack_user_is_told_so_and_nothing_is_written(client, incident, slack_api, published):
    slack_api.members["U0GUEST"] = "guest@elsewhere.example"
    body = click_body(
        incident.pk, "incident_acknowledge", user="U0GUEST", response_url=slack_api.url + "/actions/T0/1/xyz"
    )
    response = click(client, body)
    assert response.status_code == 200
    assert "not linked to a SupportHub user" in response.json()["text"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED
    assert not SlackAction.objects.exists() and not IncidentEvent.objects.filter(via="slack").exists()
    (answer,) = [r for r in slack_api.requests if r.path == "/actions/T0/1/xyz"]
    assert answer.json()["response_type"] == "ephemeral" and answer.json()["replace_original"] is False
    assert "not linked" in answer.json()["text"]


def test_a_slack_user_slack_does_not_know_changes_nothing(client, incident, slack_api, published):
    response = click(client, click_body(incident.pk, "incident_acknowledge", user="U0NOBODY"))
    assert "not linked" in response.json()["text"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED


def test_a_slack_that_does_not_answer_users_info_in_time_changes_nothing(
    client, incident, slack_api, published
):
    never = threading.Event()
    slack_api.answer(Reply(hang=never))  # users.info gives up after USER_LOOKUP_TIMEOUT, inside Slack's 3 s
    try:
        response = click(client, click_body(incident.pk, "incident_acknowledge", user="U0NOBODY"))
    finally:
        never.set()
    assert response.json()["text"].startswith("SupportHub could not look up your Slack profile")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED and not SlackAction.objects.exists()


def test_a_person_without_the_right_to_change_incidents_changes_nothing(
    client, incident, slack_api, published
):
    make_oncall_user("eli")  # staff, in no role
    slack_api.members["U0ELI"] = "eli@support.example"
    response = click(client, click_body(incident.pk, "incident_resolve", user="U0ELI"))
    assert response.json()["text"] == "eli may not change incidents in SupportHub; nothing was done."
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED


def test_the_slack_profile_email_is_kept_for_a_while(client, incident, dana, slack_api, published):
    click(client, click_body(incident.pk, "incident_acknowledge", action_ts="1.1"))
    click(client, click_body(incident.pk, "incident_resolve", action_ts="1.2"))
    assert len(slack_api.calls("users.info")) == 1
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED


def test_a_click_that_breaks_a_rule_is_answered_and_writes_nothing(client, incident, dana, published):
    services.incident_resolve(incident=incident)
    response = click(client, click_body(incident.pk, "incident_acknowledge"))
    assert response.status_code == 200
    assert response.json()["text"] == f"Incident {incident.pk} is already resolved. Nothing was done."
    assert not SlackAction.objects.exists()


def test_a_click_on_a_deleted_incident_is_answered(client, incident, dana, published):
    incident_id = incident.pk
    incident.delete()
    response = click(client, click_body(incident_id, "incident_resolve"))
    assert response.json()["text"] == f"Incident #{incident_id} no longer exists. Nothing was done."
    assert not SlackAction.objects.exists()


def test_clicks_still_work_while_the_cache_is_unreachable(client, incident, dana, published, cache_down):
    response = click(client, click_body(incident.pk, "incident_acknowledge"))
    assert response.json()["text"] == f"Incident #{incident.pk} acknowledged by dana."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("payload=not-json", "payload"),
        (urlencode({"payload": json.dumps({"type": "view_submission"})}), "type"),
        (urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})}), "actions"),
    ],
)
def test_a_malformed_payload_gets_400_naming_the_field(client, slack_api, body, field):
    response = click(client, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_unknown_action_or_bad_incident_id_gets_400(client, incident, dana):
    assert click(client, click_body(incident.pk, "incident_delete")).json()["errors"].keys() == {
        "actions.action_id"
    }
    for bad in ("x", "99999999999999999999"):
        body = click_body(incident.pk, "incident_resolve").replace(
            "%22value%22%3A+%22", f"%22value%22%3A+%22{bad}"
        )
        assert click(client, body).json()["errors"].keys() == {"actions.value"}
    body = click_body(incident.pk, "incident_resolve", user="U0\x00DANA")
    assert click(client, body).json()["errors"].keys() == {"user.id"}


def test_oncall_answers_who_is_on_call_now(client, slack_api, support_schedule):
    people = [make_oncall_user("dana"), make_oncall_user("eli")]
    add_layer(support_schedule, people, length=1, start=timezone.now().date() - timedelta(days=3))
    body = urlencode({"command": "/oncall", "text": "", "user_id": "U0DANA", "team_id": "T0TEAM"})
    response = post(client, "/webhooks/slack/commands", body, **signature(body))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert re.fullmatch(r"\*Support\*: (dana|eli) until \w{3} \d\d \w{3} 09:00 UTC", answer["text"])


def test_oncall_names_a_gap(client, slack_api, support_schedule):
    body = urlencode({"command": "/oncall"})
    response = post(client, "/webhooks/slack/commands", body, **signature(body))
    assert "*Support*: nobody (a gap in the schedule)" in response.json()["text"]


def test_a_forged_command_gets_401_and_an_unknown_one_400(client, slack_api):
    body = urlencode({"command": "/oncall"})
    assert post(client, "/webhooks/slack/commands", body, **signature(body, secret="x")).status_code == 401
    body = urlencode({"command": "/pager"})
    response = post(client, "/webhooks/slack/commands", body, **signature(body))
    assert response.status_code == 400 and "command" in response.json()["errors"]


def test_a_redraw_slack_refuses_for_good_is_given_up(incident, slack_api, caplog):
    slack_api.answer(FakeSlackApi.error("message_not_found"))
    tasks.slack_message_refresh(incident.pk, CHANNEL_ID, MESSAGE_TS)
    assert "gave up" in caplog.text


# --- the posted pages follow the incident, however it changes ------------------------------
def posted_page(incident) -> str:
    """Send the incident's Slack page through the outbox; the ts Slack gave it."""
    page = IncidentPage.objects.get(incident=incident)
    delivery_send(delivery_id=page.delivery_id)
    return page.delivery.__class__.objects.get(pk=page.delivery_id).provider_id.rpartition(":")[2]


def test_an_acknowledgement_through_the_api_redraws_the_posted_page(
    incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    ts = posted_page(incident)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, user=dana, via="api")
    (update,) = slack_api.calls("chat.update")
    body = update.json()
    assert (body["channel"], body["ts"]) == ("#ops-p1", ts)  # the channel Slack answered with
    assert "Acknowledged by dana via api" in json.dumps(body["blocks"])
    (actions,) = [block for block in body["blocks"] if block["type"] == "actions"]
    assert "incident_acknowledge" not in [b["action_id"] for b in actions["elements"]]


def test_a_resolve_through_the_v1_api_redraws_the_posted_page_without_buttons(
    api, incident, slack_api, published, django_capture_on_commit_callbacks
):
    posted_page(incident)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/v1/incidents/{incident.pk}/resolve").status_code == 200
    (update,) = slack_api.calls("chat.update")
    assert "actions" not in [block["type"] for block in update.json()["blocks"]]


def test_a_click_on_a_posted_page_redraws_it_once(
    client, incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    ts = posted_page(incident)
    body = click_body(
        incident.pk,
        "incident_resolve",
        container={"type": "message", "message_ts": ts, "channel_id": "#ops-p1"},
    )
    body = urlencode(
        {"payload": json.dumps({**json.loads(parse_qs(body)["payload"][0]), "channel": {"id": "#ops-p1"}})}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert click(client, body).status_code == 200
    assert [(u.json()["channel"], u.json()["ts"]) for u in slack_api.calls("chat.update")] == [
        ("#ops-p1", ts)
    ]


def test_a_repage_after_the_ack_timeout_offers_acknowledge_again(
    incident, dana, slack_api, published, django_capture_on_commit_callbacks
):
    posted_page(incident)
    incident.policy_snapshot["ack_timeout_minutes"] = 30
    incident.save(update_fields=["policy_snapshot"])
    services.incident_acknowledge(incident=incident, user=dana)
    with django_capture_on_commit_callbacks(execute=True):
        engine.escalation_tick(now=timezone.now() + timedelta(minutes=31))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED
    update = slack_api.calls("chat.update")[-1]
    (actions,) = [block for block in update.json()["blocks"] if block["type"] == "actions"]
    assert "incident_acknowledge" in [b["action_id"] for b in actions["elements"]]


def test_a_page_posted_by_the_incoming_webhook_is_not_redrawn(
    incident, dana, settings, slack_api, published, django_capture_on_commit_callbacks
):
    settings.SLACK_BOT_TOKEN = ""
    with FakeSlack().running() as webhook:
        settings.SLACK_WEBHOOK_URL = webhook.webhook_url
        posted_page(incident)
        assert len(webhook.requests) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, user=dana, via="api")
    assert incident.events.filter(kind="acknowledged").exists()
    assert slack_api.requests == []  # an incoming webhook's post cannot be edited


# --- the escalate verb ------------------------------------------------------------------
def test_escalating_an_acknowledged_incident_triggers_it_again_at_its_next_step(incident, dana):
    services.incident_acknowledge(incident=incident, user=dana)
    escalated = services.incident_escalate(incident=incident, user=dana, via="admin")
    assert escalated.status == IncidentStatus.TRIGGERED and escalated.next_step_at <= timezone.now()
    assert engine.incident_advance(incident_id=incident.pk)
    assert IncidentPage.objects.filter(incident=incident, recipient="#ops-p2").exists()


def test_a_resolved_or_exhausted_incident_cannot_be_escalated(incident):
    incident.exhausted_at = timezone.now()
    incident.save(update_fields=["exhausted_at"])
    with pytest.raises(DomainError, match="nobody is left"):
        services.incident_escalate(incident=incident)
    services.incident_resolve(incident=incident)
    with pytest.raises(DomainError, match="already resolved"):
        services.incident_escalate(incident=incident)
