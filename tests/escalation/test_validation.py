"""Bad input is a validation error with the reason, never a crash."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from escalation.models import (
    BusinessCalendar,
    BusinessHours,
    ContactMethod,
    EscalationStep,
    NotificationRule,
    Override,
    RotationLayer,
    Schedule,
)
from tests.factories import UserFactory

T = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_unknown_time_zone_is_refused(db):
    with pytest.raises(ValidationError) as caught:
        Schedule(name="Bad", time_zone="Mars/Olympus").full_clean()
    assert "time_zone" in caught.value.message_dict
    with pytest.raises(ValidationError):
        BusinessCalendar(name="Bad", time_zone="CEST+2").full_clean()


def test_inverted_and_overlapping_overrides_are_refused(db, dana, eli):
    schedule = Schedule.objects.create(name="S", time_zone="UTC")
    with pytest.raises(ValidationError) as caught:
        Override(schedule=schedule, user=dana, start=T, end=T - timedelta(hours=1)).full_clean()
    assert "end" in caught.value.message_dict
    Override.objects.create(schedule=schedule, user=dana, start=T, end=T + timedelta(hours=4))
    with pytest.raises(ValidationError) as caught:
        Override(
            schedule=schedule, user=eli, start=T + timedelta(hours=3), end=T + timedelta(hours=5)
        ).full_clean()
    assert "Overlaps" in str(caught.value)
    Override(
        schedule=schedule, user=eli, start=T + timedelta(hours=4), end=T + timedelta(hours=5)
    ).full_clean()


def test_inverted_layer_dates_and_hours_are_refused(db):
    schedule = Schedule.objects.create(name="S", time_zone="UTC")
    layer = RotationLayer(
        schedule=schedule, handoff_time=time(9), start_date=date(2026, 5, 2), end_date=date(2026, 5, 1)
    )
    with pytest.raises(ValidationError) as caught:
        layer.full_clean()
    assert "end_date" in caught.value.message_dict
    calendar = BusinessCalendar.objects.create(name="C", time_zone="UTC")
    with pytest.raises(ValidationError):
        BusinessHours(calendar=calendar, weekday=0, opens=time(17), closes=time(9)).full_clean()


def test_steps_need_their_target(db, default_policy):
    for kind, field in (("schedule", "schedule"), ("user", "user")):
        with pytest.raises(ValidationError) as caught:
            EscalationStep(policy=default_policy, kind=kind).full_clean()
        assert field in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        EscalationStep(policy=default_policy, kind="slack", condition="business_hours").full_clean()
    assert "calendar" in caught.value.message_dict


def test_a_notification_rule_must_use_the_persons_own_method(db, dana, eli):
    method = ContactMethod.objects.filter(user=eli).first()
    with pytest.raises(ValidationError) as caught:
        NotificationRule(user=dana, method=method, delay_minutes=0).full_clean()
    assert "method" in caught.value.message_dict


def test_contact_method_clean_normalises_the_number(db):
    user = UserFactory(username="hal")
    method = ContactMethod(user=user, kind="sms", address="+1 415 555 0199")
    method.full_clean()
    assert method.address == "+14155550199"
