"""The escalation engine: step timing, acknowledgement, repeats, exhaustion, broken steps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import time_machine

from escalation import engine, services
from escalation.models import (
    BusinessCalendar,
    BusinessHours,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentPage,
    IncidentStatus,
    NotificationRule,
    Schedule,
)
from notifications.models import Delivery
from tests.escalation.conftest import add_layer
from tests.factories import TicketFactory
from tests.team import TEAM_EMAIL, assert_each_team_address_emailed_once

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def at(minutes: float):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


def tick(minutes: float) -> engine.TickResult:
    with at(minutes):
        return engine.escalation_tick()


def recipients(incident: Incident, status: str = "sent") -> list[tuple[str, str]]:
    return [
        (p.channel, p.recipient)
        for p in IncidentPage.objects.filter(incident=incident, status=status).order_by("id")
    ]


def open_incident(**kwargs) -> Incident:
    with at(0):
        incident = services.incident_trigger(reason="api", title="Checkout down", **kwargs)
    assert incident is not None
    return incident


def test_step_two_fires_after_the_wait_and_not_before(two_step_policy):
    incident = open_incident(policy=two_step_policy)
    tick(0)
    dana = [("sms", "+14155550101"), ("voice", "+14155550101")]
    assert recipients(incident) == dana
    tick(9.9)
    assert recipients(incident) == dana
    tick(10)
    assert recipients(incident) == [*dana, ("sms", "+14155550102"), ("voice", "+14155550102")]
    incident.refresh_from_db()
    assert incident.current_step == 2 and incident.next_step_at == T0 + timedelta(minutes=15)


def test_each_step_runs_once_however_often_the_engine_ticks(two_step_policy):
    incident = open_incident(policy=two_step_policy)
    for _ in range(3):
        tick(0)
        with at(0):
            assert engine.incident_advance(incident_id=incident.pk) is False
    assert IncidentPage.objects.filter(incident=incident).count() == 2


def test_acknowledging_between_steps_stops_step_two(two_step_policy, dana):
    incident = open_incident(policy=two_step_policy)
    tick(0)
    with at(4):
        services.incident_acknowledge(incident=incident, user=dana, via="api")
    tick(10)
    tick(60)
    assert [r for _, r in recipients(incident)] == ["+14155550101", "+14155550101"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED and incident.acknowledged_by == dana
    assert incident.events.filter(kind="acknowledged", actor=dana, via="api").exists()


def test_exhaustion_alerts_the_team_once_and_leaves_the_incident_triggered(two_step_policy, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"
    settings.SLACK_CHANNEL = "#oncall"
    incident = open_incident(policy=two_step_policy)
    for minute in (0, 10, 14):
        tick(minute)
    assert not incident.events.filter(kind="exhausted").exists()
    tick(15)
    tick(60)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED and incident.exhausted_at is not None
    assert incident.next_step_at is None
    final = IncidentPage.objects.filter(incident=incident, idempotency_key__contains="exhausted")
    assert sorted((p.channel, p.recipient) for p in final) == [
        ("email", "team@support.example"),
        ("slack", "#oncall"),
    ]
    assert all("UNACKNOWLEDGED" in p.body for p in final)
    assert incident.events.filter(kind="exhausted").count() == 1


def test_the_unacknowledged_alert_emails_each_team_address_once(two_step_policy, settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL
    incident = open_incident(policy=two_step_policy)
    for minute in (0, 10, 15):
        tick(minute)
    assert_each_team_address_emailed_once(Delivery.objects.filter(idempotency_key__contains=":exhausted"))
    assert incident.events.get(kind="exhausted").message.endswith("team alerted.")


def test_the_unacknowledged_email_has_its_own_subject(two_step_policy, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    incident = open_incident(policy=two_step_policy)
    for minute in (0, 10, 15):
        tick(minute)
    page = Delivery.objects.filter(channel="sms").first()
    final = Delivery.objects.get(idempotency_key__contains=":exhausted", channel="email")
    assert page is not None and page.subject == f"[SupportHub] Incident #{incident.pk}: Checkout down"
    assert final.subject == f"[SupportHub] UNACKNOWLEDGED incident #{incident.pk}: Checkout down"


def test_a_team_email_step_emails_each_team_address_once(db, settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL
    policy = EscalationPolicy.objects.create(name="Team")
    EscalationStep.objects.create(policy=policy, position=1, kind="team_email", wait_minutes=5)
    incident = open_incident(policy=policy)
    tick(0)
    assert_each_team_address_emailed_once(Delivery.objects.filter(ticket=None, channel="email"))
    assert incident.events.get(kind="paged").message == "Step 1: emailed a@example.com, B@example.com."


def test_a_team_email_step_with_its_own_address_emails_only_that_address(db, settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL
    policy = EscalationPolicy.objects.create(name="Leads")
    EscalationStep.objects.create(
        policy=policy, position=1, kind="team_email", email="leads@example.com", wait_minutes=5
    )
    incident = open_incident(policy=policy)
    tick(0)
    assert recipients(incident) == [("email", "leads@example.com")]


def test_a_slack_step_is_skipped_while_slack_is_not_configured(db, settings):
    settings.SLACK_WEBHOOK_URL = ""
    policy = EscalationPolicy.objects.create(name="Chat")
    EscalationStep.objects.create(policy=policy, position=1, kind="slack", wait_minutes=5)
    incident = open_incident(policy=policy)
    tick(0)
    assert recipients(incident) == []
    assert "Slack is not configured" in incident.events.get(kind="step_skipped").message


def test_without_a_bot_token_a_steps_own_slack_channel_gives_way_to_the_team_channel(db, settings):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"
    settings.SLACK_CHANNEL = "#support"
    settings.SLACK_BOT_TOKEN = ""
    policy = EscalationPolicy.objects.create(name="Chat")
    # Saved before the admin refused such steps: the engine says why the channel is not used.
    EscalationStep.objects.create(
        policy=policy, position=1, kind="slack", slack_channel="#ops", wait_minutes=5
    )
    incident = open_incident(policy=policy)
    tick(0)
    assert recipients(incident) == [("slack", "#support")]
    assert "its channel #ops needs SLACK_BOT_TOKEN" in incident.events.get(kind="paged").message


def test_repeats_run_the_policy_again_before_exhaustion(two_step_policy):
    two_step_policy.repeat_count = 1
    two_step_policy.save()
    incident = open_incident(policy=two_step_policy)
    for minute in (0, 10, 15, 25, 30):
        tick(minute)
    people = [r for c, r in recipients(incident) if c == "sms"]
    assert people == ["+14155550101", "+14155550102", "+14155550101", "+14155550102"]
    assert incident.events.filter(kind="repeat").count() == 1
    assert incident.events.filter(kind="exhausted").count() == 1


def test_notification_rules_send_sms_at_once_and_call_later_unless_acknowledged(two_step_policy, dana):
    sms = ContactMethod.objects.get(user=dana, kind="sms")
    voice = ContactMethod.objects.get(user=dana, kind="voice")
    NotificationRule.objects.create(user=dana, method=sms, delay_minutes=0)
    NotificationRule.objects.create(user=dana, method=voice, delay_minutes=5)
    incident = open_incident(policy=two_step_policy)
    tick(0)
    assert recipients(incident) == [("sms", "+14155550101")]
    assert recipients(incident, "scheduled") == [("voice", "+14155550101")]
    tick(5)
    assert recipients(incident) == [("sms", "+14155550101"), ("voice", "+14155550101")]

    second = open_incident(policy=two_step_policy, dedup_key="other")
    tick(0)
    with at(3):
        services.incident_acknowledge(incident=second, user=dana)
    tick(5)
    assert recipients(second) == [("sms", "+14155550101")]
    assert recipients(second, "cancelled") == [("voice", "+14155550101")]


def test_policy_edits_do_not_change_an_escalation_in_flight(two_step_policy, eli):
    incident = open_incident(policy=two_step_policy)
    tick(0)
    two_step_policy.steps.all().delete()
    EscalationStep.objects.create(policy=two_step_policy, position=1, kind="slack", wait_minutes=1)
    tick(10)
    assert ("sms", "+14155550102") in recipients(incident)


def test_a_step_whose_schedule_was_deleted_is_logged_and_skipped(dana, eli):
    schedule = Schedule.objects.create(name="Doomed", time_zone="UTC")
    policy = EscalationPolicy.objects.create(name="Broken")
    EscalationStep.objects.create(
        policy=policy, position=1, kind="schedule", schedule=schedule, wait_minutes=10
    )
    EscalationStep.objects.create(policy=policy, position=2, kind="user", user=eli, wait_minutes=10)
    incident = open_incident(policy=policy)
    schedule.delete()
    tick(0)
    failed = incident.events.get(kind="step_failed")
    assert "schedule was deleted" in failed.message
    assert ("sms", "+14155550102") in recipients(incident)


def test_nobody_on_call_moves_straight_to_the_team_channels(support_schedule, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.example/services/T/B/X"
    settings.SLACK_CHANNEL = "#support"
    with at(0):
        ticket = TicketFactory(priority=4)
        incident = services.incident_trigger(ticket=ticket, reason="urgent_ticket")
    assert incident is not None and incident.policy.name == "Default"
    tick(0)
    assert recipients(incident) == [("email", "team@support.example"), ("slack", "#support")]
    assert incident.events.filter(kind="nobody_oncall").exists()


def test_the_default_policy_pages_whoever_is_on_call_on_support(support_schedule, dana, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    add_layer(support_schedule, [dana], unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    incident = open_incident()
    tick(0)
    assert recipients(incident) == [("sms", "+14155550101"), ("voice", "+14155550101")]
    tick(5)
    assert ("email", "team@support.example") in recipients(incident)


def test_an_unresolved_acknowledged_incident_is_paged_again_on_every_channel(two_step_policy, dana):
    two_step_policy.ack_timeout_minutes = 30
    two_step_policy.save()
    incident = open_incident(policy=two_step_policy)
    tick(0)
    with at(2):
        services.incident_acknowledge(incident=incident, user=dana)
    tick(31)
    assert IncidentPage.objects.filter(incident=incident).count() == 2
    tick(32)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIGGERED and incident.repages == 1
    assert [c for c, r in recipients(incident) if r == "+14155550101"] == ["sms", "voice", "sms", "voice"]
    assert incident.events.filter(kind="ack_timeout").exists()


def test_business_hours_steps_are_skipped_outside_hours(dana, eli):
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Berlin")
    for weekday in range(5):
        BusinessHours.objects.create(calendar=calendar, weekday=weekday, opens=time(9), closes=time(17))
    policy = EscalationPolicy.objects.create(name="Office hours")
    EscalationStep.objects.create(
        policy=policy,
        position=1,
        kind="user",
        user=dana,
        wait_minutes=5,
        condition="business_hours",
        calendar=calendar,
    )
    EscalationStep.objects.create(
        policy=policy,
        position=2,
        kind="user",
        user=eli,
        wait_minutes=5,
        condition="outside_business_hours",
        calendar=calendar,
    )
    incident = open_incident(policy=policy)  # Monday 11:00 Berlin: open
    tick(0)
    tick(5)
    assert [r for c, r in recipients(incident) if c == "sms"] == ["+14155550101"]
    assert incident.events.filter(kind="step_skipped").count() == 1


def test_a_page_that_the_outbox_refuses_is_recorded_and_the_rest_go_out(two_step_policy, monkeypatch):
    from escalation import paging

    page_new = paging.page_new

    def refuse(**kwargs):
        if kwargs["channel"] == "voice":
            raise ValueError("voice is not configured")
        return page_new(**kwargs)

    monkeypatch.setattr(paging, "page_new", refuse)
    incident = open_incident(policy=two_step_policy)
    tick(0)
    assert recipients(incident) == [("sms", "+14155550101")]
    assert recipients(incident, "failed") == [("voice", "+14155550101")]
    assert incident.events.filter(kind="page_failed").exists()


def test_keypress_1_on_a_paging_call_acknowledges(two_step_policy, dana):
    incident = open_incident(policy=two_step_policy)
    tick(0)
    call = IncidentPage.objects.get(incident=incident, channel="voice").delivery_id
    sms = IncidentPage.objects.get(incident=incident, channel="sms").delivery_id
    assert call is not None and sms is not None
    assert services.incident_acknowledge_from_delivery(delivery_id=call, digits="2") is None
    assert services.incident_acknowledge_from_delivery(delivery_id=call + sms + 1000, digits="1") is None
    acked = services.incident_acknowledge_from_delivery(delivery_id=call, digits="1")
    assert acked == incident and acked.acknowledged_by == dana
    assert incident.events.filter(kind="acknowledged", via="voice").exists()
    assert services.incident_acknowledge_from_delivery(delivery_id=call, digits="1") is None


def test_pages_name_the_incident_the_ack_reply_and_the_runbook(two_step_policy):
    incident = open_incident(policy=two_step_policy)
    tick(0)
    sms = IncidentPage.objects.get(incident=incident, channel="sms")
    voice = IncidentPage.objects.get(incident=incident, channel="voice")
    assert f"ACK {incident.pk}" in sms.body and "runbooks.example/p1" in sms.body
    assert voice.body.startswith(f"SupportHub incident {incident.pk}.")


def test_pages_are_outbox_deliveries_with_a_keypress_prompt_for_calls(two_step_policy):
    from notifications.models import Delivery

    with at(0):
        ticket = TicketFactory()
        incident = services.incident_trigger(ticket=ticket, reason="api", policy=two_step_policy)
    tick(0)
    tick(0)  # a second tick creates nothing new
    deliveries = list(Delivery.objects.order_by("id"))
    assert [(d.channel, d.recipient, d.status) for d in deliveries] == [
        ("sms", "+14155550101", "pending"),
        ("voice", "+14155550101", "pending"),
    ]
    assert all(d.ticket_id == ticket.pk for d in deliveries)
    assert deliveries[1].payload == {"incident": incident.pk, "prompt": "Press 1 to acknowledge."}
    assert f"ACK {incident.pk}" in deliveries[0].body
    pages = IncidentPage.objects.filter(incident=incident).order_by("id")
    assert [p.delivery_id for p in pages] == [d.pk for d in deliveries]
