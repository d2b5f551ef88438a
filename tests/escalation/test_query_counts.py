"""Schedules and incidents: each /v1 list and detail and each admin page runs a number of SQL
statements that does not grow with the rows it shows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.models import (
    BusinessCalendar,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentEvent,
    IncidentPage,
    NotificationRule,
    Override,
    Schedule,
)
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.factories import TicketFactory, UserFactory
from tests.query_counts import assert_constant

pytestmark = pytest.mark.django_db


def _schedule(i: int) -> Schedule:
    schedule = Schedule.objects.create(name=f"Team {i}", time_zone="Europe/Berlin")
    people = [make_oncall_user(f"s{i}p{n}", f"+1415555{i:02d}{n:02d}") for n in range(2)]
    add_layer(schedule, people, level=1)
    add_layer(schedule, people[::-1], level=2, unit="weeks")
    now = timezone.now()
    Override.objects.create(
        schedule=schedule, user=people[0], start=now - timedelta(hours=1), end=now + timedelta(hours=1)
    )
    return schedule


def _incident(i: int) -> Incident:
    user = UserFactory(username=f"responder{i}")
    incident = Incident.objects.create(
        title=f"Incident {i}",
        ticket=TicketFactory(),
        policy=EscalationPolicy.objects.first(),
        acknowledged_by=user,
    )
    IncidentEvent.objects.create(incident=incident, kind="triggered", message="opened", actor=user)
    IncidentPage.objects.create(
        incident=incident, user=user, channel="sms", recipient="+14155550100",
        idempotency_key=f"page-{i}", send_at=timezone.now(),
    )  # fmt: skip
    return incident


def _layers(schedule: Schedule):
    def add(i: int) -> None:
        people = [make_oncall_user(f"l{i}p{n}") for n in range(2)]
        add_layer(schedule, people, level=10 + i)
        now = timezone.now()
        Override.objects.create(
            schedule=schedule,
            user=people[0],
            start=now + timedelta(days=i + 1),
            end=now + timedelta(days=i + 2),
        )

    return add


def _events(incident: Incident):
    def add(i: int) -> None:
        user = UserFactory(username=f"actor{i}")
        IncidentEvent.objects.create(incident=incident, kind="note", message=f"event {i}", actor=user)
        IncidentPage.objects.create(
            incident=incident, user=user, channel="sms", recipient="+14155550100",
            idempotency_key=f"{incident.pk}-page-{i}", send_at=timezone.now(),
        )  # fmt: skip

    return add


# --- /v1 --------------------------------------------------------------------------------------
def test_the_schedule_list_is_constant_in_schedules(api):
    assert_constant(api, "/v1/oncall/schedules?page_size=100", _schedule)


@pytest.mark.parametrize("suffix", ["", "/now", ".ics"])
def test_a_schedules_detail_now_and_feed_are_constant_in_layers_and_overrides(api, suffix):
    schedule = _schedule(99)
    assert_constant(api, f"/v1/oncall/schedules/{schedule.pk}{suffix}", _layers(schedule))


def test_the_incident_list_is_constant_in_incidents(api):
    assert_constant(api, "/v1/incidents?page_size=100", _incident)


def test_an_incidents_detail_is_constant_in_its_events_and_pages(api):
    incident = _incident(99)
    assert_constant(api, f"/v1/incidents/{incident.pk}", _events(incident))


# --- admin --------------------------------------------------------------------------------------
def _method(i: int) -> None:
    user = UserFactory(username=f"m{i}")
    method = ContactMethod.objects.create(user=user, kind="sms", address=f"+1415555{i:04d}")
    NotificationRule.objects.create(user=user, method=method, delay_minutes=0)


def _policy(i: int) -> None:
    policy = EscalationPolicy.objects.create(name=f"Policy {i}")
    EscalationStep.objects.create(
        policy=policy, position=1, kind="user", user=UserFactory(username=f"p{i}"), wait_minutes=5
    )
    EscalationStep.objects.create(
        policy=policy, position=2, kind="schedule", schedule=Schedule.objects.first()
    )


@pytest.mark.parametrize(
    ("model", "add"),
    [
        ("schedule", _schedule),
        ("rotationlayer", _schedule),
        ("contactmethod", _method),
        ("notificationrule", _method),
        ("escalationpolicy", _policy),
        ("businesscalendar", lambda i: BusinessCalendar.objects.create(name=f"Office {i}")),
        ("incident", _incident),
    ],
)
def test_each_escalation_changelist_is_constant_in_rows(admin_client, model, add):
    assert_constant(admin_client, f"/admin/escalation/{model}/", add)


def test_the_oncall_now_page_is_constant_in_schedules(admin_client):
    assert_constant(admin_client, "/admin/escalation/schedule/oncall-now/", _schedule)


def test_a_schedules_change_page_is_constant_in_layers_and_overrides(admin_client):
    schedule = _schedule(99)
    assert_constant(admin_client, f"/admin/escalation/schedule/{schedule.pk}/change/", _layers(schedule))


def test_an_incidents_change_page_is_constant_in_events_and_pages(admin_client):
    incident = _incident(99)
    assert_constant(admin_client, f"/admin/escalation/incident/{incident.pk}/change/", _events(incident))


def test_a_policys_change_page_is_constant_in_steps(admin_client):
    policy = EscalationPolicy.objects.create(name="Long")

    def add(i: int) -> None:
        EscalationStep.objects.create(
            policy=policy, position=i + 1, kind="user", user=UserFactory(username=f"step{i}"), wait_minutes=5
        )

    assert_constant(admin_client, f"/admin/escalation/escalationpolicy/{policy.pk}/change/", add)
