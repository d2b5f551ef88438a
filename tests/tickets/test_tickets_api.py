import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.pagination import forget_estimates
from tests.factories import ContactFactory, TicketFactory, UserFactory
from tickets.models import Tag, Ticket, TicketPriority, TicketStatus

pytestmark = pytest.mark.django_db


def test_list_is_paginated_newest_first(api):
    tickets = TicketFactory.create_batch(3)
    response = api.get("/v1/tickets")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    assert [t["id"] for t in body["results"]] == [t.pk for t in reversed(tickets)]


def test_page_size_is_capped_at_100(api):
    TicketFactory.create_batch(105)
    body = api.get("/v1/tickets?page_size=500").json()
    assert len(body["results"]) == 100
    assert body["next"] is not None
    assert len(api.get("/v1/tickets?page_size=10&page=2").json()["results"]) == 10


@pytest.mark.parametrize("page_size", ["0", "-1", "ten", "null", "1.5"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_a_400(api, page_size):
    response = api.get(f"/v1/tickets?page_size={page_size}")
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_a_page_past_the_end_is_a_404(api):
    TicketFactory()
    response = api.get("/v1/tickets?page=9")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_filters_by_status_priority_channel_assignee_and_breach(api, agent):
    match = TicketFactory(
        status=TicketStatus.OPEN,
        priority=TicketPriority.URGENT,
        channel="phone",
        assignee=agent,
        sla_breached=True,
    )
    TicketFactory(status=TicketStatus.OPEN, priority=TicketPriority.URGENT, channel="phone", assignee=agent)
    TicketFactory(status=TicketStatus.NEW, priority=TicketPriority.LOW, channel="email")
    query = f"status=open&priority=urgent&channel=phone&assignee={agent.pk}&sla_breached=true"
    body = api.get(f"/v1/tickets?{query}").json()
    assert [t["id"] for t in body["results"]] == [match.pk]
    assert api.get("/v1/tickets?unassigned=true").json()["count"] == 1
    assert api.get("/v1/tickets?status=open&status=new").json()["count"] == 3


@pytest.mark.parametrize(
    "query", ["status=nope", "priority=critical", "channel=fax", "sla_breached=maybe", "assignee=x"]
)
def test_unknown_filter_values_are_a_400_naming_the_filter(api, query):
    response = api.get(f"/v1/tickets?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


def test_search_finds_subject_description_reference_and_contact(api):
    contact = ContactFactory(email="zed@example.com")
    printer = TicketFactory(subject="Printer is on fire", description="smoke everywhere")
    refund = TicketFactory(
        subject="Refund please", description="I was charged twice for my invoices", contact=contact
    )
    TicketFactory(subject="Unrelated", description="nothing here")

    def found(q):
        return {t["id"] for t in api.get("/v1/tickets", {"q": q}).json()["results"]}

    assert found("printer") == {printer.pk}
    assert found("charged") == {refund.pk}
    assert found(printer.reference) == {printer.pk}
    assert found("zed@example.com") == {refund.pk}


def test_ordering_by_priority(api):
    low = TicketFactory(priority=TicketPriority.LOW)
    urgent = TicketFactory(priority=TicketPriority.URGENT)
    normal = TicketFactory(priority=TicketPriority.NORMAL)
    ids = [t["id"] for t in api.get("/v1/tickets?ordering=-priority").json()["results"]]
    assert ids == [urgent.pk, normal.pk, low.pk]


def test_create_ticket_with_contact(api, agent):
    response = api.post(
        "/v1/tickets",
        {
            "subject": "VPN down",
            "description": "Cannot connect since 9am",
            "priority": "urgent",
            "contact": {"name": "Dan", "email": "dan@example.com"},
            "assignee": agent.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["channel"] == "api"
    assert body["assignee"] == agent.pk
    assert body["message_count"] == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "x", "contact": {"name": "Dan"}}, "contact.email"),
        ({"subject": "x", "contact": {"name": "Dan", "email": "dan@example.com", "age": 3}}, "contact.age"),
        ({"subject": "x", "contact": {"email": "dan@example.com"}}, "contact.name"),
        (
            {"subject": "x", "contact": {"name": "Dan", "email": "dan@example.com"}, "assignee": 999999},
            "assignee",
        ),
        ({"contact": {"name": "Dan", "email": "dan@example.com"}}, "subject"),
        ({"subject": "x", "contact": {"name": "Dan", "email": "d@e.com"}, "status": "closed"}, "status"),
    ],
)
def test_bad_ticket_creation_is_a_400_and_writes_nothing(api, payload, field):
    response = api.post("/v1/tickets", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_non_staff_users_cannot_be_assignees(api):
    customer_user = UserFactory(username="outsider", is_staff=False)
    ticket = TicketFactory()
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"assignee": customer_user.pk}, format="json")
    assert response.status_code == 400
    assert "assignee" in response.json()["errors"]


def test_retrieve_and_patch(api, agent):
    ticket = TicketFactory()
    assert api.get(f"/v1/tickets/{ticket.pk}").json()["reference"] == ticket.reference
    response = api.patch(
        f"/v1/tickets/{ticket.pk}",
        {"status": "open", "priority": "high", "assignee": agent.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["assignee"]) == ("open", "high", agent.pk)


def test_illegal_status_change_is_a_400_and_changes_nothing(api):
    ticket = TicketFactory(status=TicketStatus.CLOSED, priority=TicketPriority.LOW)
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"status": "open", "priority": "urgent"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["status"] == ["Cannot change status from closed to open."]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (TicketStatus.CLOSED, TicketPriority.LOW)


@pytest.mark.parametrize(
    "payload", [{"status": "archived"}, {"priority": 4}, {"reference": "SH-1"}, {"subject": ""}]
)
def test_bad_patch_is_a_400(api, payload):
    ticket = TicketFactory()
    response = api.patch(f"/v1/tickets/{ticket.pk}", payload, format="json")
    assert response.status_code == 400
    assert next(iter(payload)) in response.json()["errors"]


def test_missing_ticket_is_a_json_404(api):
    for method in (api.get, api.patch):
        response = method("/v1/tickets/987654")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_put_and_delete_are_not_allowed(api):
    ticket = TicketFactory()
    assert api.put(f"/v1/tickets/{ticket.pk}", {}, format="json").status_code == 405
    assert api.delete(f"/v1/tickets/{ticket.pk}").status_code == 405


def _queries(api, url):
    forget_estimates()  # each count starts cold: no planner estimate kept from the last one
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_ticket_list_and_detail_run_a_constant_number_of_queries(counted_api, agent):
    TicketFactory.create_batch(5, assignee=agent)
    five = _queries(counted_api, "/v1/tickets?page_size=100")
    TicketFactory.create_batch(45, assignee=agent)
    fifty = _queries(counted_api, "/v1/tickets?page_size=100")
    assert five == fifty
    # The page; the count (on PostgreSQL: the planner's estimate first, then an exact count);
    # the page's tags; the page's links.
    assert fifty == (5 if connection.vendor == "postgresql" else 4)
    assert _queries(counted_api, f"/v1/tickets/{Ticket.objects.first().pk}") == 3  # ticket, tags, links


def test_the_ticket_list_counts_without_joining_the_contacts(api):
    TicketFactory.create_batch(3)
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/v1/tickets?status=new").json()["count"] == 3
    [count] = [query["sql"] for query in ctx.captured_queries if "COUNT(" in query["sql"]]
    assert "tickets_contact" not in count


def test_large_lists_report_an_estimated_count_on_postgresql(api, settings):
    from tests.services import require_postgres

    require_postgres()
    TicketFactory.create_batch(30)
    body = api.get("/v1/tickets?page_size=5").json()
    assert (body["count"], body["count_is_estimate"]) == (30, False)
    settings.API_EXACT_COUNT_LIMIT = 0  # the planner never estimates fewer than one row
    body = api.get("/v1/tickets?page_size=5").json()
    assert body["count_is_estimate"] is True
    assert body["count"] > 0  # the planner's figure; exact only in magnitude
    assert len(body["results"]) == 5


def test_a_filter_added_to_get_queryset_hides_the_ticket_from_every_read(api, monkeypatch):
    from tickets.views import TicketViewSet

    shown, hidden = TicketFactory(), TicketFactory()
    get_queryset = TicketViewSet.get_queryset
    monkeypatch.setattr(TicketViewSet, "get_queryset", lambda view: get_queryset(view).exclude(pk=hidden.pk))

    listed = api.get("/v1/tickets").json()
    assert [ticket["id"] for ticket in listed["results"]] == [shown.pk]
    assert listed["count"] == 1
    assert [t["id"] for t in api.get("/v1/tickets?status=new").json()["results"]] == [shown.pk]
    assert api.get(f"/v1/tickets/{shown.pk}").status_code == 200
    assert api.get(f"/v1/tickets/{hidden.pk}").status_code == 404
    assert api.get(f"/v1/tickets/{hidden.pk}?status=new").status_code == 404
    assert api.patch(f"/v1/tickets/{hidden.pk}", {"subject": "x"}, format="json").status_code == 404
    assert Ticket.objects.get(pk=hidden.pk).subject != "x"


@pytest.mark.parametrize("pk", ["abc", "1.5", "-1", "0", str(2**63), str(10**30)])
def test_a_ticket_id_that_names_no_ticket_is_a_404(api, pk):
    TicketFactory()
    response = api.get(f"/v1/tickets/{pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_fast_ticket_representation_equals_drfs_generic_one(agent):
    from datetime import UTC, datetime

    from rest_framework import serializers

    from tickets.serializers import TicketSerializer, ticket_document
    from tickets.views import TicketViewSet

    ticket = TicketFactory(
        assignee=agent,
        sla_breached=True,
        first_responded_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # no microseconds
        resolved_at=datetime(2026, 3, 29, 2, 30, 0, 123456, tzinfo=UTC),
    )
    ticket.tags.set([Tag.objects.create(name="vip"), Tag.objects.create(name="billing")])
    ticket = Ticket.objects.select_related("contact").get(pk=ticket.pk)
    fast = TicketSerializer(ticket).data
    generic = serializers.ModelSerializer.to_representation(TicketSerializer(), ticket)
    assert fast == generic
    assert ticket_document(TicketViewSet.queryset.get(pk=ticket.pk)) == generic  # what the API reads
