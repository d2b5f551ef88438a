"""Fixtures for escalation tests: a schedule with people who can be paged, a policy."""

from __future__ import annotations

from datetime import date, time

import pytest

from escalation.models import (
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    LayerParticipant,
    RotationLayer,
    Schedule,
)
from tests.factories import UserFactory


def make_oncall_user(username: str, phone: str | None = None) -> object:
    user = UserFactory(username=username)
    if phone:
        ContactMethod.objects.create(user=user, kind="sms", address=phone)
        ContactMethod.objects.create(user=user, kind="voice", address=phone)
    return user


def add_layer(
    schedule: Schedule,
    users: list,
    *,
    level: int = 1,
    unit: str = "days",
    length: int = 1,
    handoff: time = time(9, 0),
    start: date = date(2026, 1, 5),
    weekday: int | None = None,
) -> RotationLayer:
    layer = RotationLayer.objects.create(
        schedule=schedule, level=level, shift_unit=unit, shift_length=length, handoff_time=handoff,
        start_date=start, handoff_weekday=weekday,
    )  # fmt: skip
    for position, user in enumerate(users):
        LayerParticipant.objects.create(layer=layer, user=user, position=position)
    return layer


@pytest.fixture
def dana(db):
    return make_oncall_user("dana", "+14155550101")


@pytest.fixture
def eli(db):
    return make_oncall_user("eli", "+14155550102")


@pytest.fixture
def support_schedule(db) -> Schedule:
    """The "Support" schedule the data migration creates (UTC, no layers yet)."""
    return Schedule.objects.get(name="Support")


@pytest.fixture
def default_policy(db) -> EscalationPolicy:
    """The "Default" policy the data migration creates."""
    return EscalationPolicy.objects.get(name="Default")


@pytest.fixture
def two_step_policy(db, dana, eli) -> EscalationPolicy:
    """Page dana, wait 10 minutes, page eli, wait 5; no repeats; no other policy triggers."""
    EscalationPolicy.objects.update(on_urgent_ticket=False, on_sla_breach=False, on_missed_call=False)
    policy = EscalationPolicy.objects.create(
        name="Two step", on_urgent_ticket=True, runbook="https://runbooks.example/p1"
    )
    EscalationStep.objects.create(policy=policy, position=1, kind="user", user=dana, wait_minutes=10)
    EscalationStep.objects.create(policy=policy, position=2, kind="user", user=eli, wait_minutes=5)
    return policy


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factories set passwords; the default PBKDF2 would cost ~0.4 s per person."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
