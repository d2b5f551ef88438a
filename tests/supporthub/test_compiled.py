"""Reads compiled to SQL once per process: the same rows as the ORM, or the ORM path."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.fields import iso_datetime
from supporthub.api.pagination import CountedRows
from supporthub.compiled import SLICES_KEPT, CompiledRead
from supporthub.db import api_timestamp_loaders
from telephony.models import CallLog
from tests.factories import TicketFactory
from tests.services import require_postgres
from tickets.models import Ticket
from tickets.serializers import (
    TICKET_COLUMNS,
    TICKET_LIST,
    TICKET_ORDER,
    ticket_document,
    ticket_list_pages,
    ticket_row,
    ticket_rows,
)
from tickets.views import TicketViewSet

pytestmark = pytest.mark.django_db


def by_id() -> CompiledRead:
    return CompiledRead(lambda pk: ticket_rows(Ticket.objects.filter(pk=pk)))


def test_on_postgresql_the_ticket_read_is_compiled_and_returns_the_orms_row(agent):
    require_postgres()
    read = by_id()
    assert read.sql() is not None
    full = TicketFactory(assignee=agent, sla_breached=True)
    bare = TicketFactory()  # nulls: no assignee, no due dates met

    for ticket in (full, bare):
        orm = ticket_rows(Ticket.objects.all()).get(pk=ticket.pk)
        assert read.rows(ticket.pk) == [orm]
        assert len(orm) == len(TICKET_COLUMNS)
    assert read.rows(max(full.pk, bare.pk) + 1) == []


def test_a_compiled_read_is_one_logged_statement_and_the_second_call_compiles_nothing():
    require_postgres()
    ticket = TicketFactory()
    read = by_id()
    read.rows(ticket.pk)
    with CaptureQueriesContext(connection) as queries:
        assert read.rows(ticket.pk)[0][0] == ticket.pk
    assert [q["sql"].split(" ", 1)[0] for q in queries] == ["SELECT"]


def test_parameters_the_build_arguments_do_not_account_for_leave_the_read_to_the_orm():
    read = CompiledRead(lambda pk: Ticket.objects.filter(pk=pk, status="open").values("id"))
    assert read.sql() is None
    assert read.rows(1) is None


def test_a_column_that_needs_a_converter_leaves_the_read_to_the_orm():
    read = CompiledRead(lambda pk: CallLog.objects.filter(pk=pk).values("id", "last_payload"))  # JSON
    assert read.sql() is None
    assert read.rows(1) is None


def test_arity_is_checked():
    with pytest.raises(ValueError, match="arity"):
        CompiledRead(lambda *ids: Ticket.objects.filter(pk__in=ids).values("id"), arity=5)


def test_a_sliced_queryset_is_left_to_the_orm():
    read = CompiledRead(lambda: Ticket.objects.values("id")[:5], arity=0)
    assert read.sql() is None


def test_ticket_row_reads_through_the_orm_where_the_read_does_not_compile(monkeypatch):
    ticket = TicketFactory()
    monkeypatch.setattr(CompiledRead, "rows", lambda self, *params, **kwargs: None)
    assert ticket_row(ticket.pk) == ticket_rows(Ticket.objects.all()).get(pk=ticket.pk)
    assert ticket_row(ticket.pk + 1) is None


@pytest.mark.parametrize("pk", [2**63, -(2**63) - 1])
def test_ids_outside_bigint_are_no_ticket(pk):
    assert ticket_row(pk) is None


@pytest.mark.parametrize("path", ["99999999999999999999", "abc", "-1"])
def test_detail_of_an_id_that_cannot_exist_is_a_404(api, path):
    response = api.get(f"/v1/tickets/{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_detail_with_a_query_string_still_applies_the_filters(api):
    ticket = TicketFactory(status="open")
    assert api.get(f"/v1/tickets/{ticket.pk}").json()["id"] == ticket.pk
    assert api.get(f"/v1/tickets/{ticket.pk}?status=open").status_code == 200
    assert api.get(f"/v1/tickets/{ticket.pk}?status=closed").status_code == 404


# --- The plain ticket list -----------------------------------------------------------------
def test_the_plain_list_reads_pages_with_the_compiled_sql_of_the_views_own_order():
    require_postgres()
    assert tuple(TicketViewSet.ordering) == TICKET_ORDER
    assert TICKET_LIST.sql() == ticket_rows(Ticket.objects.order_by(*TICKET_ORDER)).query.sql_with_params()[0]


def test_the_plain_list_pages_equal_the_filtered_paths_pages(api):
    """Equal timestamps too: the id breaks ties on both paths."""
    tickets = TicketFactory.create_batch(12)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[3:9]]).update(created_at=tickets[0].created_at)
    for page in (1, 2, 3):
        plain = api.get(f"/v1/tickets?page_size=5&page={page}").json()
        other = api.get(f"/v1/tickets?page_size=5&page={page}&unknown=1").json()  # the ORM path
        assert (plain["count"], plain["results"]) == (other["count"], other["results"])
        assert len(plain["results"]) == (5 if page < 3 else 2)


def test_a_compiled_read_fetches_slices_and_falls_back_to_the_orm(monkeypatch):
    """Compared as API documents: the compiled read's timestamps come already formatted."""
    TicketFactory.create_batch(4)
    everything = [ticket_document(row) for row in ticket_rows(Ticket.objects.order_by(*TICKET_ORDER))]
    windows = [(0, None), (1, 3), (2, None), (3, 3), (0, 10)]

    def pages() -> list[list[dict]]:
        return [[ticket_document(row) for row in TICKET_LIST.fetch(start=a, stop=b)] for a, b in windows]

    compiled = pages()
    monkeypatch.setattr(CompiledRead, "rows", lambda self, *params, **kwargs: None)
    assert compiled == pages() == [everything[start:stop] for start, stop in windows]


def test_a_slice_is_the_same_sql_each_time_and_the_slices_kept_are_bounded():
    """statement_cursor keeps psycopg's adapters only for the same SQL object."""
    read = CompiledRead(lambda: Ticket.objects.order_by("pk").values_list("pk"), arity=0)
    TicketFactory.create_batch(3)
    pks = sorted(Ticket.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as captured:
        assert read.fetch(start=1, stop=3) == read.fetch(start=1, stop=3) == [(pk,) for pk in pks[1:3]]
    assert captured.captured_queries[0]["sql"] == captured.captured_queries[1]["sql"]
    if connection.vendor == "postgresql":
        sql = read.sql()
        assert read._sliced(sql, connection, 1, 3) is read._sliced(sql, connection, 1, 3)
        for start in range(SLICES_KEPT + 3):
            read.fetch(start=start, stop=start + 1)
        assert 0 < len(read._slices) <= SLICES_KEPT


def test_the_filtered_list_counts_without_the_join_its_rows_need(api):
    TicketFactory.create_batch(3, status="open")
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/v1/tickets?status=open").json()
    assert body["count"] == 3 and len(body["results"]) == 3
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"]]
    assert len(counts) == 1 and "JOIN" not in counts[0]
    assert body["results"][0]["contact"]["name"]  # the page still has the contact's columns


def test_counted_rows_count_the_queryset_and_page_through_the_rows():
    TicketFactory.create_batch(3)
    pages = ticket_list_pages(Ticket.objects.order_by(*TICKET_ORDER), plain=False)
    assert pages.count() == 3
    assert pages[1:3] == list(ticket_rows(Ticket.objects.order_by(*TICKET_ORDER))[1:3])


@pytest.mark.parametrize("window", [slice(0, 4, 2), slice(2, None), slice(-1, 3), slice(3, 1)])
def test_counted_rows_take_plain_windows_only(window):
    with pytest.raises(ValueError, match="windows only"):
        CountedRows(Ticket.objects.all(), lambda start, stop: [])[window]


def test_values_reads_give_dicts_and_values_list_reads_give_tuples():
    require_postgres()
    ticket = TicketFactory()
    dicts = CompiledRead(lambda pk: Ticket.objects.filter(pk=pk).values("id", "subject"))
    tuples = CompiledRead(lambda pk: Ticket.objects.filter(pk=pk).values_list("id", "subject"))
    assert dicts.sql() == tuples.sql() is not None
    assert dicts.rows(ticket.pk) == [{"id": ticket.pk, "subject": ticket.subject}]
    assert tuples.rows(ticket.pk) == [(ticket.pk, ticket.subject)]


def test_instances_and_flat_values_are_left_to_the_orm():
    assert CompiledRead(lambda pk: Ticket.objects.filter(pk=pk)).sql() is None
    assert CompiledRead(lambda pk: Ticket.objects.filter(pk=pk).values_list("id", flat=True)).sql() is None


def test_the_plain_list_is_estimated_with_the_sql_the_orm_path_would_compile():
    """The plain list hands the paginator its ids' SQL compiled once; it is the statement
    planner_row_estimate builds from the queryset, so both paths share one estimate."""
    require_postgres()
    queryset = Ticket.objects.order_by(*TICKET_ORDER)  # the plain list's
    pages = ticket_list_pages(queryset, plain=True)
    assert pages.ids_sql == queryset.order_by().values("pk").query.sql_with_params()[0]
    assert ticket_list_pages(Ticket.objects.all(), plain=False).ids_sql is None


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 0, 500, tzinfo=UTC),
        None,
    ],
)
def test_api_timestamps_are_read_in_the_format_drf_writes(value):
    require_postgres()
    with connection.cursor() as cursor:
        for name, loader in api_timestamp_loaders().items():
            cursor.cursor.adapters.register_loader(name, loader)
        cursor.execute("SELECT %s::timestamptz", [value])
        (read,) = cursor.fetchone()
    assert read == iso_datetime(value)
    assert read is None or isinstance(read, str)


def test_a_contact_is_looked_up_by_compiled_sql_and_is_the_orms_instance():
    require_postgres()
    from tests.factories import ContactFactory
    from tickets.models import Contact
    from tickets.selectors import _contact_read, contact_by

    contact = ContactFactory(email="ann@example.com", phone="+14155550100")
    for unique in ("email", "phone"):  # text parameters compile
        assert _contact_read(unique).sql() is not None
    for unique, value in (("email", "ann@example.com"), ("phone", "+14155550100")):
        found = contact_by(unique, value)
        assert found is not None and not found._state.adding
        orm = Contact.objects.get(pk=contact.pk)
        assert [getattr(found, f.attname) for f in Contact._meta.concrete_fields] == [
            getattr(orm, f.attname) for f in Contact._meta.concrete_fields
        ]
    assert contact_by("email", "nobody@example.com") is None


def test_a_text_parameter_transformed_by_its_lookup_is_left_to_the_orm():
    read = CompiledRead(lambda value: Ticket.objects.filter(subject__contains=value).values("id"))
    assert read.sql() is None  # the parameter is "%-7654321%", not the argument
