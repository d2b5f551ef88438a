"""Handoff notices: the incoming person hears, N minutes before their shift, whom they take
over from; once per shift, at the shift's real start across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from escalation.handoffs import handoff_notices_send
from escalation.models import ContactMethod, Override, Schedule
from notifications.models import Delivery
from tests.escalation.conftest import add_layer, make_oncall_user

pytestmark = pytest.mark.django_db

# 2026-03-08 02:00 New York time the clocks spring forward: the 09:00 handoff that day is
# 13:00 UTC, not 14:00 UTC as the day before (and as 24 hours after it would be).
DST_HANDOFF = datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_default_notices(settings):
    settings.ESCALATION_HANDOFF_NOTICE_MINUTES = 0
    settings.SLACK_BOT_TOKEN = ""


@pytest.fixture
def new_york(db):
    """Daily 09:00 New York handoffs, dana then eli: dana on Mar 7, eli from Mar 8 09:00 EDT."""
    schedule = Schedule.objects.create(name="Night NY", time_zone="America/New_York")
    dana = make_oncall_user("dana", "+14155550101")
    eli = make_oncall_user("eli", "+14155550102")
    add_layer(schedule, [dana, eli], start=date(2026, 3, 1))
    return schedule


def notice_minutes(username: str, minutes: int | None, kind: str = "sms") -> None:
    ContactMethod.objects.filter(user__username=username, kind=kind).update(handoff_notice_minutes=minutes)


def handoffs() -> list[Delivery]:
    return list(Delivery.objects.filter(idempotency_key__startswith="handoff:").order_by("pk"))


def test_the_incoming_person_hears_whom_they_take_over_from_at_the_dst_shifted_start(new_york):
    notice_minutes("eli", 30)
    assert handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=31)) == 0
    assert handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=29)) == 1
    (notice,) = handoffs()
    assert (notice.channel, notice.recipient) == ("sms", "+14155550102")
    assert notice.body == (
        "[SupportHub] You are on call for Night NY from Sun 08 Mar 09:00 EDT (in 29 min), taking over from dana."
    )


def test_a_notice_goes_once_per_shift_however_often_the_sweep_runs(new_york):
    notice_minutes("eli", 30)
    for minutes_before in (25, 10, 1):
        handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=minutes_before))
    assert len(handoffs()) == 1


def test_a_sweep_that_comes_after_the_shift_started_sends_nothing_late(new_york):
    notice_minutes("eli", 30)
    assert handoff_notices_send(now=DST_HANDOFF + timedelta(minutes=1)) == 0


def test_each_person_chooses_their_own_lead_time_and_methods(new_york):
    notice_minutes("eli", 5)
    ContactMethod.objects.create(
        user=ContactMethod.objects.get(user__username="eli", kind="sms").user,
        kind="email",
        address="eli@home.example",
        handoff_notice_minutes=60,
    )
    handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=30))
    assert [(d.channel, d.recipient) for d in handoffs()] == [("email", "eli@home.example")]
    assert handoffs()[0].subject.startswith("[SupportHub] You are on call for Night NY from Sun 08 Mar")
    handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=4))
    assert [d.channel for d in handoffs()] == ["email", "sms"]


def test_the_default_lead_time_uses_a_persons_first_method_or_their_email(new_york, settings):
    settings.ESCALATION_HANDOFF_NOTICE_MINUTES = 15
    ContactMethod.objects.filter(user__username="eli").delete()
    handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=10))
    assert [(d.channel, d.recipient) for d in handoffs()] == [("email", "eli@support.example")]
    # dana's shift starts a day later, at 09:00 EDT (13:00 UTC): her first method is SMS.
    handoff_notices_send(now=DST_HANDOFF + timedelta(days=1, minutes=-10))
    assert [(d.channel, d.recipient) for d in handoffs()][1] == ("sms", "+14155550101")
    assert "taking over from eli" in handoffs()[1].body


def test_slack_notices_are_direct_messages_and_need_the_bot_token(new_york, settings):
    eli = ContactMethod.objects.get(user__username="eli", kind="sms").user
    ContactMethod.objects.create(user=eli, kind="slack", address="U0ELI1234", handoff_notice_minutes=30)
    handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=20))
    assert handoffs() == []  # a webhook cannot write to a person
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=19))
    assert [(d.channel, d.recipient) for d in handoffs()] == [("slack", "U0ELI1234")]


def test_an_overrides_start_is_a_handoff_too(new_york):
    eli = ContactMethod.objects.get(user__username="eli", kind="sms").user
    notice_minutes("eli", 30)
    Override.objects.create(
        schedule=new_york,
        user=eli,
        start=DST_HANDOFF - timedelta(hours=3),
        end=DST_HANDOFF - timedelta(hours=2),
    )
    handoff_notices_send(now=DST_HANDOFF - timedelta(hours=3, minutes=10))
    (notice,) = handoffs()
    assert "from Sun 08 Mar 06:00 EDT (in 10 min), taking over from dana" in notice.body


def test_taking_over_from_a_gap_says_so(db):
    schedule = Schedule.objects.create(name="Day NY", time_zone="America/New_York")
    eli = make_oncall_user("eli", "+14155550102")
    add_layer(schedule, [eli], start=date(2026, 3, 8))  # nobody before its first 09:00
    notice_minutes("eli", 30)
    handoff_notices_send(now=DST_HANDOFF - timedelta(minutes=5))
    (notice,) = handoffs()
    assert notice.body.endswith("taking over from nobody (the schedule has a gap).")


def test_a_call_cannot_carry_handoff_notices(new_york):
    method = ContactMethod.objects.get(user__username="eli", kind="voice")
    method.handoff_notice_minutes = 10
    with pytest.raises(ValidationError) as error:
        method.full_clean()
    assert "handoff_notice_minutes" in error.value.message_dict
