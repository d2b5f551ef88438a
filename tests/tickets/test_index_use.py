"""The lookups whose cost must not grow with the tables are served by an index.

Each test runs the application's own query (captured as it runs) under EXPLAIN with
sequential scans (and, for an order, sorts) priced out, so on the tiny test tables the plan
shows which index the query *can* use: a query written so that no index matches it still plans a scan of the
whole table. Before these indexes, a reference or email search scanned every ticket (33 ms
and 108 ms at 150,000 tickets), and threading a reply read every email message of every
ticket through the external_id pattern index.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.builders import _thread_headers
from tests.factories import ContactFactory, MessageFactory, TicketFactory, UserFactory
from tests.services import require_postgres
from tickets.admin.tickets import TicketAdmin
from tickets.live import ticket_list_changes
from tickets.models import Ticket
from tickets.search import ticket_search

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require_postgres()


def _plans(run, about: str = "", off: tuple[str, ...] = ("seqscan",)) -> list[str]:  # type: ignore[no-untyped-def]
    """The EXPLAIN output of each SELECT that `run()` executes (and whose SQL has `about`),
    with the plan kinds in `off` priced out."""
    with CaptureQueriesContext(connection) as captured:
        run()
    plans = []
    with connection.cursor() as cursor:
        for plan_kind in off:
            cursor.execute(f"SET LOCAL enable_{plan_kind} = off")
        for query in captured.captured_queries:
            if query["sql"].lstrip().upper().startswith("SELECT") and about in query["sql"]:
                cursor.execute(f"EXPLAIN {query['sql']}")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert plans, "the code under test ran no SELECT"
    return plans


def test_a_reference_search_in_any_case_reads_one_index_entry():
    ticket = TicketFactory()
    plans = _plans(lambda: list(ticket_search(Ticket.objects.all(), ticket.reference.lower())))

    assert len(plans) == 2  # whether it names a ticket, then the page
    for plan in plans:
        assert "ticket_reference_upper_idx" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_an_email_search_in_any_case_finds_the_contact_by_index():
    contact = ContactFactory(email="Mixed.Case@example.com")
    TicketFactory(contact=contact)
    plans = _plans(lambda: list(ticket_search(Ticket.objects.all(), "MIXED.case@EXAMPLE.com")))

    assert len(plans) == 2
    for plan in plans:
        assert "contact_email_upper_idx" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_a_free_text_search_reads_the_tickets_search_vector_index_then_its_few_matches_by_id():
    ticket = TicketFactory(subject="Printer on fire")
    MessageFactory(ticket=ticket, body="smoke everywhere")
    # Walking an order index and filtering is also a plan (for common words, the best one):
    # priced out, so that the plan shows that the GIN index matches the query.
    search = lambda: list(ticket_search(Ticket.objects.all(), "printer smoke"))  # noqa: E731
    matches, page = _plans(search, off=("seqscan", "indexscan"))

    assert "ticket_search_vector_idx" in matches, matches
    # The page is its few tickets by id, through whichever index has id (the primary key, or
    # ticket_created_idx's second column), and no second look at the text.
    assert "Index Cond: (id = " in page, page  # one id, or "= ANY (...)" for several
    assert "search_vector" not in page, page


def test_a_free_text_search_with_many_matches_filters_the_lists_order_index(monkeypatch):
    monkeypatch.setattr("tickets.search.FEW_MATCHES", 0)
    TicketFactory(subject="Printer on fire")
    search = lambda: list(ticket_search(Ticket.objects.all(), "printer"))  # noqa: E731
    matches, page = _plans(search, off=("seqscan", "bitmapscan", "sort"))

    for plan in (matches, page):
        assert "ticket_created_idx" in plan and "search_vector" in plan, plan


def test_a_free_text_search_reads_its_first_matches_from_an_index_whatever_the_lists_order():
    """The console's triage order over every status has no index: the first read of the
    matches must not sort every one of them (for a common word, a third of the tickets)."""
    TicketFactory(subject="Printer on fire")
    triage = Ticket.objects.order_by(*TicketAdmin.ordering)
    search = lambda: list(ticket_search(triage, "printer"))  # noqa: E731
    matches, _ = _plans(search, off=("seqscan", "bitmapscan", "sort"))

    assert "ticket_created_idx" in matches and "Sort" not in matches, matches


def test_threading_a_reply_reads_the_tickets_latest_messages_not_every_email_message():
    ticket = TicketFactory(channel="email")
    for n in range(3):
        MessageFactory(ticket=ticket, external_id=f"<m{n}@example.com>")
    ticket = Ticket.objects.get(pk=ticket.pk)  # no first_message: the query runs
    thread = lambda: _thread_headers(ticket, "<reply@example.com>")  # noqa: E731
    [plan] = _plans(thread, about='FROM "tickets_message"')
    [acknowledgement] = _plans(thread, about='FROM "notifications_delivery"')

    assert "Index Scan Backward using message_ticket_timeline_idx" in plan, plan
    assert "Sort" not in plan, plan  # the index gives the order and stops at the LIMIT
    assert "Seq Scan" not in acknowledgement, acknowledgement  # its unique idempotency key


def test_the_agents_default_ticket_list_is_read_in_triage_order_from_one_index(client):
    client.force_login(UserFactory(is_superuser=True))
    TicketFactory.create_batch(3)
    [page] = _plans(
        lambda: client.get("/admin/tickets/ticket/"),
        about='ORDER BY "tickets_ticket"',
        off=("seqscan", "bitmapscan", "sort"),
    )

    assert "ticket_triage_idx" in page, page
    assert "Sort" not in page, page


@pytest.mark.parametrize("status", ["all", "closed", "resolved"])
def test_a_list_of_done_or_every_ticket_is_read_by_last_activity_from_an_index(client, status):
    client.force_login(UserFactory(is_superuser=True))
    TicketFactory.create_batch(3, status=status if status != "all" else "open")
    [page] = _plans(
        lambda: client.get(f"/admin/tickets/ticket/?status={status}"),
        about='ORDER BY "tickets_ticket"',
        off=("seqscan", "bitmapscan", "sort"),
    )

    assert "ticket_updated_idx" in page, page
    # The index gives the order by last activity; only ties on it are sorted by id.
    assert "Incremental Sort" in page and "Presorted Key: tickets_ticket.updated_at" in page, page


def test_the_ticket_list_counts_its_matches_but_not_every_ticket_again(client):
    client.force_login(UserFactory(is_superuser=True))
    TicketFactory.create_batch(3)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/tickets/ticket/").status_code == 200
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "WHERE" in counts[0].upper(), counts


# Written on every intake, message, delivery, call or page, and only ever matched exactly
# or case-insensitively: a LIKE pattern index there would only cost writes.
WRITE_PATH_TABLES = [
    "tickets_ticket",
    "tickets_message",
    "tickets_contact",
    "notifications_delivery",
    "telephony_calllog",
    "escalation_incidentpage",
]


def test_no_like_pattern_index_is_left_on_the_write_path():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = ANY(%s) AND indexdef LIKE %s",
            [WRITE_PATH_TABLES, "%pattern_ops%"],
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexdef LIKE %s", ["%pattern_ops%"])
        assert cursor.fetchone()[0] > 0  # the query does see the ones left elsewhere (auth)


def test_the_live_lists_reads_start_from_the_updated_at_index():
    TicketFactory()
    since = timezone.now() - timedelta(minutes=1)
    plans = _plans(
        lambda: ticket_list_changes(
            listed=Ticket.objects.active(), everything=Ticket.objects.all(), since=since
        ),
        off=("seqscan", "sort"),
    )

    assert len(plans) == 2
    for plan in plans:
        assert "ticket_updated_idx" in plan, plan
