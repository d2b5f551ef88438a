"""The lead's reports, checked against a small data set whose figures were worked out by hand.

The period is 1-11 January 2026 in Europe/Berlin (UTC+1 then). Rows near midnight fall on
another day, or outside the period, in UTC than in Berlin, so the time zone is checked too.
Every expected number below comes from the rows in `seeded`, not from code.
"""

import sqlite3
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.models import Incident, IncidentPage, IncidentStatus, PageStatus
from supporthub.reports import Period, report_build, sqlite_percentile_register
from supporthub.roles import AGENT, sync_roles
from tests.factories import TicketFactory, UserFactory
from tickets.models import SlaPolicy, TicketChannel, TicketPriority, TicketStatus

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
PERIOD = Period(first=date(2026, 1, 1), last=date(2026, 1, 11), zone=BERLIN)
NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# priority: (first response, resolution) targets of its SLA policy
TARGETS = {
    TicketPriority.URGENT: (15 * M, 4 * H),
    TicketPriority.HIGH: (60 * M, 24 * H),
    TicketPriority.NORMAL: (60 * M, 8 * H),
    TicketPriority.LOW: (4 * H, 3 * 24 * H),
}


def ticket(created: datetime, channel: str, priority: int, status: str, **fields: object) -> None:
    """A ticket with the due times of its policy, except low ones, which have none."""
    respond, resolve = (None, None) if priority == TicketPriority.LOW else TARGETS[TicketPriority(priority)]
    TicketFactory(
        created_at=created,
        channel=channel,
        priority=priority,
        status=status,
        first_response_due=created + respond if respond else None,
        resolution_due=created + resolve if resolve else None,
        **fields,
    )


def incident(created: datetime, acked_after: timedelta | None = None, by: object = None) -> Incident:
    made = Incident.objects.create(
        title="Checkout down",
        status=IncidentStatus.ACKNOWLEDGED if acked_after else IncidentStatus.TRIGGERED,
        acknowledged_by=by,  # type: ignore[misc]
        acknowledged_at=created + acked_after if acked_after else None,
    )
    Incident.objects.filter(pk=made.pk).update(created_at=created)
    return made


def page(user: object, sent: datetime | None, on: Incident, key: str) -> None:
    IncidentPage.objects.create(
        incident=on,
        user=user,  # type: ignore[misc]
        channel="sms",
        recipient="+14155550100",
        idempotency_key=key,
        status=PageStatus.SENT if sent else PageStatus.SCHEDULED,
        send_at=sent or NOW,
        sent_at=sent,
    )


@pytest.fixture
def seeded():
    for priority, (respond, resolve) in TARGETS.items():
        SlaPolicy.objects.update_or_create(
            priority=priority,
            defaults={"first_response_minutes": respond // M, "resolution_minutes": resolve // M},
        )
    alice = UserFactory(username="alice", first_name="Alice", last_name="Archer")
    bob = UserFactory(username="bob", first_name="Bob", last_name="Baker")
    email, chat, phone, web = TicketChannel.EMAIL, TicketChannel.CHAT, TicketChannel.PHONE, TicketChannel.WEB
    normal, high, urgent, low = (
        TicketPriority.NORMAL,
        TicketPriority.HIGH,
        TicketPriority.URGENT,
        TicketPriority.LOW,
    )
    resolved, closed = TicketStatus.RESOLVED, TicketStatus.CLOSED
    # T1: Berlin 5 Jan 00:30 (4 Jan in UTC); answered in 30 min, solved in 2 h; both met.
    t1 = utc(1, 4, 23, 30)
    ticket(
        t1, email, normal, resolved, assignee=alice, first_responded_at=t1 + 30 * M, resolved_at=t1 + 2 * H
    )
    # T2: 5 Jan; answered in 60 min (met, on the dot), solved in 10 h (breached, never flagged).
    t2 = utc(1, 5, 10)
    ticket(
        t2, email, normal, resolved, assignee=alice, first_responded_at=t2 + 60 * M, resolved_at=t2 + 10 * H
    )
    # T3: Berlin 6 Jan 00:30; answered in 10 min, solved in 4 h (Berlin 6 Jan); both met.
    t3 = utc(1, 5, 23, 30)
    ticket(t3, chat, urgent, resolved, assignee=bob, first_responded_at=t3 + 10 * M, resolved_at=t3 + 4 * H)
    # T4: 7 Jan; answered in 2 h, flagged; resolution still running. Backlog: 5 days old.
    t4 = utc(1, 7, 12)
    ticket(
        t4,
        phone,
        high,
        TicketStatus.OPEN,
        assignee=bob,
        first_responded_at=t4 + 2 * H,
        first_response_breached=True,
    )
    # T5: 7 Jan; never answered, both clocks flagged. Backlog: 4 days 23 h old.
    ticket(
        utc(1, 7, 13), email, normal, TicketStatus.NEW, first_response_breached=True, resolution_breached=True
    )
    # T6: Berlin 12 Jan 00:30, after the period (11 Jan in UTC). Backlog: 12.5 h old.
    t6 = utc(1, 11, 23, 30)
    ticket(t6, chat, normal, TicketStatus.OPEN, assignee=alice, first_responded_at=t6 + 5 * M)
    # T7: opened in December, solved in the period (Berlin 8 Jan 10:00) after 19 days.
    t7 = utc(12, 20, 9, year=2025)
    ticket(t7, email, normal, closed, assignee=alice, first_responded_at=t7 + 3 * H, resolved_at=utc(1, 8, 9))
    # T8: pending since November. Backlog: over 4 weeks.
    ticket(utc(11, 1, 9, year=2025), email, normal, TicketStatus.PENDING)
    # T9: 10 Jan, low priority (no SLA). Backlog: exactly 2 days old.
    ticket(NOW - 2 * timedelta(days=1), web, low, TicketStatus.NEW)

    # Incidents opened in the period and acknowledged after 5, 20, 10 and 40 minutes.
    i1 = incident(utc(1, 5, 22, 25), 5 * M, alice)
    incident(utc(1, 6, 8, 55), 20 * M, alice)
    incident(utc(1, 4, 23, 25), 10 * M, bob)  # Berlin 5 Jan 00:25
    incident(utc(1, 11, 22, 25), 40 * M)  # acknowledged with an API key: nobody's
    incident(utc(1, 11, 23, 25), 1 * M, bob)  # Berlin 12 Jan: after the period
    incident(utc(1, 7, 9))  # never acknowledged

    page(alice, utc(1, 2, 8), i1, "p8")  # Fri 2 Jan 09:00: week of 29 Dec, day
    page(alice, utc(1, 5, 22, 30), i1, "p1")  # Mon 5 Jan 23:30: night
    page(alice, utc(1, 6, 9), i1, "p2")  # Tue 6 Jan 10:00: day
    page(bob, utc(1, 4, 23, 30), i1, "p3")  # Mon 5 Jan 00:30 (Sunday in UTC): night
    page(bob, utc(1, 11, 22, 30), i1, "p4")  # Sun 11 Jan 23:30: night
    page(bob, utc(1, 11, 23, 30), i1, "p5")  # Mon 12 Jan: after the period
    page(None, utc(1, 6, 9), i1, "p6")  # a Slack channel: nobody's
    page(alice, None, i1, "p7")  # scheduled, never sent


def test_tickets_received_and_solved_per_day_and_channel_follow_the_time_zone(seeded):
    rows = report_build(period=PERIOD, now=NOW)["volume"].rows
    assert rows == [
        (date(2026, 1, 5), "email", 2, 2),
        (date(2026, 1, 6), "chat", 1, 1),
        (date(2026, 1, 7), "email", 1, 0),
        (date(2026, 1, 7), "phone", 1, 0),
        (date(2026, 1, 8), "email", 0, 1),
        (date(2026, 1, 10), "web", 1, 0),
    ]


def test_first_response_and_resolution_medians_and_p90(seeded):
    rows = report_build(period=PERIOD, now=NOW)["response_times"].rows
    assert rows == [
        # 10, 30, 60, 120 min
        ("first response", 4, 45 * M, 102 * M),
        # 2 h, 4 h, 10 h, 456 h
        ("resolution", 4, 7 * H, 322 * H + 12 * M),
    ]


def test_sla_attainment_per_policy_counts_only_stopped_clocks(seeded):
    rows = report_build(period=PERIOD, now=NOW)["sla"].rows
    assert rows == [
        ("urgent", "first response", 1, 0, 100.0),
        ("urgent", "resolution", 1, 0, 100.0),
        ("high", "first response", 0, 1, 0.0),
        ("high", "resolution", 0, 0, None),
        ("normal", "first response", 2, 1, 66.7),
        ("normal", "resolution", 1, 2, 33.3),
        ("low", "first response", 0, 0, None),
        ("low", "resolution", 0, 0, None),
    ]


def test_backlog_by_age(seeded):
    rows = report_build(period=PERIOD, now=NOW)["backlog"].rows
    assert rows == [
        ("under 1 day", 1),
        ("1-3 days", 1),
        ("3-7 days", 2),
        ("1-4 weeks", 0),
        ("over 4 weeks", 1),
    ]


def test_per_agent_tickets_and_median_first_response(seeded):
    rows = report_build(period=PERIOD, now=NOW)["agents"].rows
    assert rows == [("Alice Archer", 2, 2, 45 * M), ("Bob Baker", 2, 1, 65 * M)]


def test_oncall_pages_per_person_per_week_with_night_pages(seeded):
    rows = report_build(period=PERIOD, now=NOW)["oncall"].rows
    assert rows == [
        (date(2025, 12, 29), "Alice Archer", 1, 0),
        (date(2026, 1, 5), "Alice Archer", 2, 1),
        (date(2026, 1, 5), "Bob Baker", 2, 2),
    ]


def test_time_to_acknowledge_median_and_p90(seeded):
    rows = report_build(period=PERIOD, now=NOW)["acknowledge"].rows
    assert rows == [
        ("everyone", 4, 15 * M, 34 * M),
        ("Alice Archer", 2, 12 * M + 30 * timedelta(seconds=1), 18 * M + 30 * timedelta(seconds=1)),
        ("Bob Baker", 1, 10 * M, 10 * M),
    ]


def test_an_empty_period_reports_zeros_and_no_times(db):
    tables = report_build(period=PERIOD, now=NOW)
    assert tables["volume"].rows == []
    assert tables["response_times"].rows == [("first response", 0, None, None), ("resolution", 0, None, None)]
    assert tables["acknowledge"].rows == [("everyone", 0, None, None)]


def test_sqlite_gets_percentile_cont_interpolating_as_postgresql_does():
    raw = sqlite3.connect(":memory:")
    sqlite_percentile_register(sender=None, connection=SimpleNamespace(vendor="sqlite", connection=raw))
    raw.execute("CREATE TABLE t (v)")
    raw.executemany("INSERT INTO t VALUES (?)", [(60,), (10,), (None,), (120,), (30,)])
    query = "SELECT PERCENTILE_CONT(v, 0.5), PERCENTILE_CONT(v, 0.9), PERCENTILE_CONT(v, 0) FROM t"
    assert raw.execute(query).fetchone() == (45.0, pytest.approx(102.0), 10.0)
    assert raw.execute("SELECT PERCENTILE_CONT(v, 0.5) FROM t WHERE v > 1000").fetchone() == (None,)


# --- the page ---------------------------------------------------------------------------------
REPORTS = "/admin/reports/"
CHOSEN = {"first": "2026-01-01", "last": "2026-01-11", "zone": "Europe/Berlin"}


@pytest.fixture
def lead_client(client):
    client.force_login(UserFactory(username="lead", is_superuser=True))
    return client


def test_the_admin_index_links_the_reports_for_admins_only(lead_client, client):
    assert 'href="/admin/reports/"' in lead_client.get("/admin/").content.decode()
    sync_roles()
    agent = UserFactory(username="agent.only")
    agent.groups.add(Group.objects.get(name=AGENT))
    client.force_login(agent)
    assert 'href="/admin/reports/"' not in client.get("/admin/").content.decode()
    assert client.get(REPORTS).status_code == 403


def test_the_page_draws_charts_and_tables_for_the_chosen_period(lead_client, seeded):
    page = lead_client.get(REPORTS, CHOSEN).content.decode()
    reports = page[page.index('<div id="reports">') :]
    assert reports.count('<svg class="chart"') == 5  # received, solved, SLA, backlog, pages
    assert "<script" not in reports and "style=" not in reports
    assert "<td>322 h 12 min</td>" in reports  # resolution p90
    assert "<td>Alice Archer</td><td>2</td><td>2</td><td>45 min</td>" in reports
    assert "export=backlog" in reports


def test_each_table_downloads_as_csv_with_minutes_for_durations(lead_client, seeded):
    response = lead_client.get(REPORTS, {**CHOSEN, "export": "response_times"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "supporthub-response_times-2026-01-01-2026-01-11.csv" in response["Content-Disposition"]
    assert response.content.decode().splitlines() == [
        "measure,tickets,median (minutes),p90 (minutes)",
        "first response,4,45.0,102.0",
        "resolution,4,420.0,19332.0",
    ]
    sla_csv = lead_client.get(REPORTS, {**CHOSEN, "export": "sla"}).content.decode().splitlines()
    assert sla_csv[4] == "high,resolution,0,0,"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({**CHOSEN, "first": "2026-01-12"}, "&#x27;From&#x27; must not be after &#x27;To&#x27;."),
        ({**CHOSEN, "first": "2024-01-01"}, "Choose at most 366 days."),
        ({**CHOSEN, "zone": "Mars/Olympus"}, "Select a valid choice."),
        ({**CHOSEN, "last": "yesterday"}, "Enter a valid date."),
        ({**CHOSEN, "export": "payroll"}, "No report named &#x27;payroll&#x27;."),
    ],
)
def test_bad_choices_are_a_400_that_says_why(lead_client, params, problem):
    response = lead_client.get(REPORTS, params)
    assert response.status_code == 400
    assert problem in response.content.decode().replace("'", "&#x27;")


def test_the_page_runs_a_fixed_number_of_queries_whatever_the_data(lead_client, seeded):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert lead_client.get(REPORTS, CHOSEN).status_code == 200
        return len(queries)

    before = count()
    for n in range(5):
        agent = UserFactory(username=f"more{n}", first_name="More", last_name=str(n))
        ticket(utc(1, 3 + n, 9), TicketChannel.API, TicketPriority.HIGH, TicketStatus.RESOLVED, assignee=agent,
               first_responded_at=utc(1, 3 + n, 10), resolved_at=utc(1, 3 + n, 11))  # fmt: skip
        page(agent, utc(1, 3 + n, 12), incident(utc(1, 3 + n, 11), 3 * M, agent), f"more{n}")
    assert count() == before <= 14
