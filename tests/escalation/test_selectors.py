"""phone_chain for the telephony app, schedule health, and the daily health report."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from escalation import health, metrics, selectors, tasks
from escalation.models import (
    BusinessCalendar,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Override,
    RotationLayer,
    Schedule,
    StepCondition,
    StepKind,
)
from escalation.models.schedules import normalise_address
from notifications.models import Delivery
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.factories import UserFactory
from tests.services import cache_unreachable, redis_url
from tests.team import TEAM_EMAIL, assert_each_team_address_emailed_once

NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_phone_chain_is_oncall_then_lower_layer_then_policy_then_forward_number(
    support_schedule, default_policy, dana, eli, settings
):
    settings.SUPPORT_FORWARD_NUMBER = "+14155550199"
    fay = make_oncall_user("fay", "+14155550103")
    add_layer(support_schedule, [dana], level=2, unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    add_layer(support_schedule, [eli, dana], level=1, unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    EscalationStep.objects.create(policy=default_policy, position=9, kind="user", user=fay)
    assert selectors.phone_chain(NOON) == ["+14155550101", "+14155550102", "+14155550103", "+14155550199"]


def test_phone_chain_holds_voice_numbers_only(support_schedule, default_policy, settings):
    settings.SUPPORT_FORWARD_NUMBER = ""
    gus, hal = UserFactory(username="gus"), UserFactory(username="hal")
    ContactMethod.objects.create(user=gus, kind="sms", address="+14155550111")
    ContactMethod.objects.create(user=gus, kind="voice", address="+14155550112")
    ContactMethod.objects.create(user=hal, kind="sms", address="+14155550113")
    add_layer(support_schedule, [gus], unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    add_layer(support_schedule, [hal], level=2, unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    assert selectors.phone_chain(NOON) == ["+14155550112"]


def test_phone_chain_with_nobody_on_call_is_the_forward_number(support_schedule, default_policy, settings):
    settings.SUPPORT_FORWARD_NUMBER = "+14155550199"
    with time_machine.travel(NOON, tick=False):
        assert selectors.phone_chain() == ["+14155550199"]
    settings.SUPPORT_FORWARD_NUMBER = ""
    assert selectors.phone_chain(NOON) == []


def test_with_the_cache_unreachable_every_call_computes_the_chain(
    cache_down, support_schedule, default_policy, dana
):
    add_layer(support_schedule, [dana], unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    fay = make_oncall_user("fay", "+14155550103")
    with time_machine.travel(NOON, tick=False):
        assert selectors.phone_chain()[0] == "+14155550101"
        Override.objects.create(
            schedule=support_schedule, user=fay, start=NOON, end=NOON + timedelta(hours=1)
        )
        assert selectors.phone_chain()[0] == "+14155550103"


def test_an_override_saved_while_the_cache_was_unreachable_routes_calls_once_the_kept_chain_expires(
    support_schedule, default_policy, dana, settings, monkeypatch
):
    redis_url()  # Redis expires the kept chain in real time; a local-memory cache, by the frozen clock
    monkeypatch.setattr(selectors, "CHAIN_TIMEOUT", 1)
    add_layer(support_schedule, [dana], unit="weeks", start=date(2026, 1, 1), handoff=time(0))
    fay = make_oncall_user("fay", "+14155550103")
    with time_machine.travel(NOON, tick=False):
        assert selectors.phone_chain()[0] == "+14155550101"  # kept for CHAIN_TIMEOUT

        with cache_unreachable(settings):
            Override.objects.create(
                schedule=support_schedule, user=fay, start=NOON, end=NOON + timedelta(hours=1)
            )
            assert selectors.phone_chain()[0] == "+14155550103"

        clock.sleep(selectors.CHAIN_TIMEOUT)  # real time: the cache's expiry does not travel
        assert selectors.phone_chain()[0] == "+14155550103"


def test_health_reports_gaps_and_people_on_call_soon_not_shown_reachable(db, dana):
    schedule = Schedule.objects.create(name="Holey", time_zone="UTC")
    dana.contact_methods.filter(kind="sms").update(verified_at=NOON - timedelta(days=29))
    nobody = UserFactory(username="quiet")
    add_layer(schedule, [dana], unit="days", start=date(2026, 3, 1), handoff=time(9))
    Override.objects.create(schedule=schedule, user=nobody, start=NOON, end=NOON + timedelta(hours=2))
    layer = RotationLayer.objects.get(schedule=schedule)
    layer.end_date = date(2026, 3, 5)
    layer.save()
    report = selectors.schedule_health(schedule, NOON)
    assert [u.username for u in report.unreachable] == ["quiet"]
    assert report.gaps and report.gaps[0].start == datetime(2026, 3, 5, 9, tzinfo=UTC)
    assert "gap" in report.summary() and "quiet" in report.summary()


def test_daily_health_report_counts_unhealthy_schedules(support_schedule, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    assert health.schedule_health_report() >= 1  # the empty Support schedule is one big gap
    assert tasks.schedule_health_report() >= 1


def test_the_daily_health_warning_emails_each_team_address_once(support_schedule, settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL
    health.schedule_health_report()
    assert_each_team_address_emailed_once(
        Delivery.objects.filter(idempotency_key__startswith=f"schedule-health:{support_schedule.pk}:")
    )


def test_thin_tasks_call_their_services(db):
    assert tasks.escalation_tick() == 0
    assert tasks.incident_advance(123456) is False


def test_oncall_now_table_lists_every_schedule(support_schedule):
    rows = selectors.oncall_now_table(timezone.now())
    assert [(s.name, who.is_gap) for s, who in rows] == [("Support", True)]


@pytest.mark.parametrize(
    ("kind", "address", "stored"),
    [
        ("sms", "+1 (415) 555-0101", "+14155550101"),
        ("voice", "+4930901820", "+4930901820"),
        ("email", "Dana@Example.COM", "dana@example.com"),
        ("slack", "#oncall", "#oncall"),
        ("slack", "U012AB3CD", "U012AB3CD"),
    ],
)
def test_contact_addresses_are_normalised(kind, address, stored):
    assert normalise_address(kind, address) == stored


@pytest.mark.parametrize(
    ("kind", "address"),
    [("sms", "4155550101"), ("voice", "+1"), ("email", "nope"), ("slack", "oncall channel"), ("fax", "1")],
)
def test_bad_contact_addresses_are_refused_with_a_reason(kind, address):
    with pytest.raises(ValidationError):
        normalise_address(kind, address)


def test_metrics_count_gaps_and_unreachable_people_per_schedule(support_schedule, client):
    body = client.get("/metrics").content.decode()
    assert 'supporthub_oncall_schedule_gaps{schedule="Support"} 1.0' in body
    assert 'supporthub_oncall_unreachable{schedule="Support"} 0.0' in body


def test_the_first_scrape_in_the_first_minutes_after_boot_counts_the_schedules(
    support_schedule, client, monkeypatch
):
    """The cache's clock counts from boot, so it reads less than CACHE_SECONDS at first."""
    monkeypatch.setattr(metrics, "time", SimpleNamespace(monotonic=lambda: 10.0))
    body = client.get("/metrics").content.decode()
    assert 'supporthub_oncall_schedule_gaps{schedule="Support"} 1.0' in body


def test_a_layer_with_nobody_in_it_is_reported(db):
    schedule = Schedule.objects.create(name="Empty layer", time_zone="UTC")
    add_layer(schedule, [], start=date(2026, 1, 1))
    report = selectors.schedule_health(schedule, NOON)
    assert report.empty_layers == ["level 1"] and "nobody in the rotation" in report.summary()


@pytest.mark.django_db
def test_policy_timing_skips_a_step_whose_business_hours_do_not_hold_without_waiting():
    """A skipped step reaches nobody, so the next fires at once (engine.step_wait)."""
    calendar = BusinessCalendar.objects.create(name="Never open", time_zone="UTC")  # no hours at all
    policy = EscalationPolicy.objects.create(name="Office", repeat_count=0)
    EscalationStep.objects.create(
        policy=policy, position=0, kind=StepKind.USER, user=UserFactory(username="day"), wait_minutes=20,
        condition=StepCondition.BUSINESS_HOURS, calendar=calendar,
    )  # fmt: skip
    EscalationStep.objects.create(
        policy=policy, position=1, kind=StepKind.USER, user=UserFactory(username="night"), wait_minutes=7
    )
    start = datetime(2026, 12, 7, 12, tzinfo=UTC)
    timings, exhausted = selectors.policy_timing(policy, start)
    assert [(t.at, t.reaches, t.reached, t.wait_minutes) for t in timings] == [
        (start, "skipped: only during business hours does not hold", False, 0),
        (start, "night", True, 7),
    ]
    assert exhausted == start + timedelta(minutes=7)
