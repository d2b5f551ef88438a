"""SLA due times on business hours, the pending pause, and the breach sweep."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from escalation.models import BusinessCalendar, BusinessHours, Incident, IncidentPage
from notifications.models import Delivery
from supporthub.actors import SYSTEM
from tests.escalation.conftest import default_policy  # noqa: F401 - fixture
from tests.factories import ContactFactory
from tests.team import TEAM_EMAIL, assert_each_team_address_emailed_once
from tickets import services as ticket_services
from tickets import sla
from tickets.models import SlaPolicy, Ticket, TicketPriority, TicketStatus

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def office(db) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Berlin")
    for weekday in range(5):
        BusinessHours.objects.create(calendar=calendar, weekday=weekday, opens=time(9), closes=time(17))
    return calendar


@pytest.fixture
def contact(db):
    return ContactFactory()


def make_ticket(contact, priority=TicketPriority.HIGH) -> Ticket:
    return ticket_services.ticket_create(contact=contact, subject="Help", channel="email", priority=priority)


def test_due_times_count_only_business_hours(contact, office):
    SlaPolicy.objects.filter(priority=TicketPriority.HIGH).update(business_calendar=office)
    with time_machine.travel(datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN), tick=False):  # Friday
        ticket = make_ticket(contact)
    assert ticket.first_response_due == datetime(2026, 3, 9, 9, 30, tzinfo=BERLIN)  # 60 min
    assert ticket.resolution_due == datetime(2026, 3, 9, 16, 30, tzinfo=BERLIN)  # 8 h


def test_due_times_without_a_calendar_are_wall_clock(contact):
    start = datetime(2026, 3, 6, 16, 30, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(contact)
    assert ticket.first_response_due == start + timedelta(minutes=60)


def test_pending_pauses_the_resolution_clock(contact):
    start = datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(contact)
    due = ticket.resolution_due
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        ticket = ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, status=TicketStatus.PENDING)
    with time_machine.travel(start + timedelta(hours=4), tick=False):
        ticket = ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, status=TicketStatus.OPEN)
    ticket.refresh_from_db()
    assert ticket.resolution_due == due + timedelta(hours=3)
    assert ticket.sla_paused_at is None


def test_pending_pause_on_business_hours_counts_only_open_time(contact, office):
    SlaPolicy.objects.filter(priority=TicketPriority.HIGH).update(business_calendar=office)
    start = datetime(2026, 3, 6, 16, 0, tzinfo=BERLIN)  # Friday
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(contact)
        due = ticket.resolution_due
        ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, status=TicketStatus.PENDING)
    with time_machine.travel(datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN), tick=False):  # Monday
        ticket_services.ticket_update(ticket=ticket, actor=SYSTEM, status=TicketStatus.OPEN)
    ticket.refresh_from_db()
    # Paused for 2 business hours (Fri 16-17, Mon 9-10).
    assert ticket.resolution_due == office_add(office, due, 120)


def office_add(calendar, start, minutes):
    from escalation import business_hours

    return business_hours.add_business_minutes(calendar, start, minutes)


def test_the_sweep_marks_breaches_once_and_tells_the_team(contact, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    start = timezone.now() - timedelta(hours=2)
    with time_machine.travel(start, tick=False):
        late = make_ticket(contact)
        on_time = make_ticket(contact, priority=TicketPriority.LOW)
    assert sla.sla_breach_sweep() == 1
    assert sla.sla_breach_sweep() == 0
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.sla_breached and not on_time.sla_breached
    assert not Incident.objects.exists()  # open_incident_on_breach is off by default


def test_a_breach_notice_emails_each_team_address_once(contact, settings):
    settings.SUPPORT_TEAM_EMAIL = TEAM_EMAIL
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False):
        ticket = make_ticket(contact)
    assert sla.sla_breach_sweep() == 1
    assert_each_team_address_emailed_once(Delivery.objects.filter(idempotency_key__startswith="sla-breach:"))
    assert Delivery.objects.filter(idempotency_key__startswith="sla-breach:", ticket=ticket).count() == 2


@pytest.mark.usefixtures("default_policy")
def test_a_breach_opens_an_incident_when_the_sla_policy_says_so(contact):
    SlaPolicy.objects.filter(priority=TicketPriority.HIGH).update(open_incident_on_breach=True)
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False):
        ticket = make_ticket(contact)
    sla.sla_breach_sweep()
    incident = Incident.objects.get(ticket=ticket)
    assert incident.reason == "sla_breach" and "SLA breached" in incident.title


def test_a_paused_ticket_does_not_breach_on_resolution(contact):
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        ticket = make_ticket(contact)
    Ticket.objects.filter(pk=ticket.pk).update(
        first_responded_at=timezone.now() - timedelta(days=3),
        status=TicketStatus.PENDING,
        sla_paused_at=timezone.now(),
    )
    assert sla.sla_breach_sweep() == 0


def test_first_response_stops_the_first_response_clock(contact):
    with time_machine.travel(timezone.now() - timedelta(minutes=90), tick=False):
        ticket = make_ticket(contact)
        ticket_services.message_create(ticket=ticket, direction="outbound", body="On it")
    assert sla.sla_breach_sweep() == 0
    assert not IncidentPage.objects.exists()


def test_each_clock_breaches_once_with_its_own_notice(contact, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        ticket = make_ticket(contact)
    assert sla.sla_breach_sweep() == 2
    assert sla.sla_breach_sweep() == 0
    ticket.refresh_from_db()
    assert ticket.first_response_breached and ticket.resolution_breached and ticket.sla_breached
    keys = set(Delivery.objects.filter(ticket=ticket).values_list("idempotency_key", flat=True))
    assert {f"sla-breach:{ticket.pk}:first_response:email:team@support.example",
            f"sla-breach:{ticket.pk}:resolution:email:team@support.example"} <= keys  # fmt: skip


def test_a_ticket_that_met_its_first_response_still_reports_its_resolution_breach(contact, agent):
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        ticket = make_ticket(contact)
        ticket_services.message_create(ticket=ticket, direction="outbound", body="On it", author_user=agent)
    assert sla.sla_breach_sweep() == 1
    ticket.refresh_from_db()
    assert (ticket.first_response_breached, ticket.resolution_breached) == (False, True)
    assert [clock.state for clock in sla.sla_clocks(ticket)] == ["met", "breached"]


def test_the_api_shows_and_filters_each_clocks_breach(api, contact):
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        late = make_ticket(contact)
        ticket_services.message_create(ticket=late, direction="outbound", body="On it")
    make_ticket(contact)
    sla.sla_breach_sweep()
    body = api.get(f"/v1/tickets/{late.pk}").json()
    assert (body["first_response_breached"], body["resolution_breached"], body["sla_breached"]) == (
        False,
        True,
        True,
    )
    assert [t["id"] for t in api.get("/v1/tickets?resolution_breached=true").json()["results"]] == [late.pk]
    assert api.get("/v1/tickets?first_response_breached=true").json()["count"] == 0


def test_the_sweep_task_runs_the_sweep(db):
    from tickets.tasks import sla_sweep

    assert sla_sweep() == 0
