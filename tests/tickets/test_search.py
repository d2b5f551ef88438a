"""One search (tickets.search.ticket_search) behind the API's `q` and the console's search box."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from supporthub.actors import SYSTEM
from tests.factories import ContactFactory, TicketFactory
from tests.query_counts import assert_constant
from tests.services import require_postgres
from tickets import merging, services
from tickets.models import Tag, Ticket
from tickets.search import THREAD_TEXT_LIMIT

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def tickets(db):
    """Four tickets, each findable by something of its own."""
    refund = TicketFactory(
        subject="Refund for a double charge",
        description="",
        contact=ContactFactory(name="Zoë Müller", email="Zoe.Mueller@example.com", phone="+14155550123"),
    )
    services.message_create(ticket=refund, direction="inbound", body="The café terminal charged me twice.")
    printers = TicketFactory(subject="Printers jammed on floor 3", description="")
    services.message_create(ticket=printers, direction="inbound", body="Paper everywhere, see SH-999999.")
    parcel = TicketFactory(subject="Where is my order", description="")
    services.message_create(ticket=parcel, direction="inbound", body="My parcel never arrived.")
    services.message_create(ticket=parcel, direction="outbound", body="It is on its way; tracking TRK4412.")
    quiet = TicketFactory(subject="Feature question", description="Can exports run nightly?")
    return {"refund": refund, "printers": printers, "parcel": parcel, "quiet": quiet}


def api_found(api, q: str) -> set[int]:
    response = api.get("/v1/tickets", {"q": q, "page_size": 100})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def console_found(client, q: str) -> set[int]:
    response = client.get(CHANGELIST, {"q": q, "status": "all"})
    assert response.status_code == 200
    return {ticket.pk for ticket in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("refund", {"refund"}),  # a word of a subject
        ("parcel", {"parcel"}),  # a word of a message body
        ("trk4412", {"parcel"}),  # in the ticket's second message
        ("nightly", {"quiet"}),  # the description
        ("zoe.mueller@EXAMPLE.com", {"refund"}),  # the contact's email, exactly but in any case
        ("+1 (415) 555-0123", {"refund"}),  # the contact's phone, in any format
        ("sh-999999", {"printers"}),  # a reference no ticket has: quoted in a message
        ("parcel -arrived", set()),  # websearch's "not"
        ("volcano", set()),
    ],
)
def test_the_api_and_the_console_find_the_same_tickets(api, agent_client, tickets, q, names):
    expected = {tickets[name].pk for name in names}

    assert api_found(api, q) == expected
    assert console_found(agent_client, q) == expected


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("REFUND double", {"refund"}),  # words of one subject, any case, not side by side
        ("CAFÉ", {"refund"}),  # "café", in a message, whatever the case of its accent
        ('"never arrived"', {"parcel"}),  # a phrase
        ("refund or parcel", {"refund", "parcel"}),
    ],
)
def test_the_api_and_the_console_find_the_same_tickets_by_words_phrases_and_or(
    api, agent_client, tickets, q, names
):
    require_postgres()  # SQLite (development) matches the text as a substring
    expected = {tickets[name].pk for name in names}

    assert api_found(api, q) == expected
    assert console_found(agent_client, q) == expected


def test_a_reference_finds_its_ticket_in_any_case_and_not_the_tickets_quoting_it(api, agent_client, tickets):
    refund = tickets["refund"]
    quoting = TicketFactory(subject="Follow-up", description=f"about {refund.reference}")

    assert api_found(api, refund.reference.lower()) == {refund.pk}
    assert console_found(agent_client, refund.reference.lower()) == {refund.pk}
    assert quoting.pk in api_found(api, "follow-up")


def test_words_match_whatever_their_accents_and_form(api, tickets):
    require_postgres()  # SQLite (development) matches the text as a substring

    assert api_found(api, "CAFE") == {tickets["refund"].pk}  # "café"
    assert api_found(api, "terminál") == {tickets["refund"].pk}  # "terminal"
    assert api_found(api, "printer") == {tickets["printers"].pk}  # "Printers"
    assert api_found(api, "charging") == {tickets["refund"].pk}  # "charge", "charged"


def test_what_the_services_write_is_searchable_at_once(api, tickets):
    """The search vector is written with the subject, the description and each message."""
    require_postgres()  # SQLite (development) matches the text as a substring
    created = services.ticket_create(
        contact=ContactFactory(), subject="Scanner offline", channel="email", description="since Monday"
    )
    assert api_found(api, "scanner monday") == {created.pk}

    services.message_create(ticket=created, direction="outbound", body="Try the blue cable")
    assert api_found(api, "blue cable") == {created.pk}

    services.ticket_update(ticket=created, actor=SYSTEM, subject="Copier offline")
    assert api_found(api, "copier") == {created.pk}
    assert api_found(api, "scanner") == set()
    assert api_found(api, "monday cable") == {created.pk}  # the rest is kept


def test_a_merge_moves_the_searchable_words_with_the_messages(api, tickets):
    require_postgres()
    merging.ticket_merge(source=tickets["parcel"], target=tickets["refund"], actor=SYSTEM)
    assert api_found(api, "TRK4412") == {tickets["refund"].pk}
    assert api_found(api, "parcel arrived") == {tickets["refund"].pk}


def test_a_huge_thread_still_takes_messages_and_its_newest_text_is_searched(api):
    require_postgres()
    ticket = services.ticket_create(contact=ContactFactory(), subject="Log dump", channel="email")
    words = " ".join(f"w{n}" for n in range(THREAD_TEXT_LIMIT // 6))  # distinct words: a large vector
    services.message_create(ticket=ticket, direction="inbound", body=words)
    services.message_create(ticket=ticket, direction="inbound", body=f"newest {words}")

    assert api_found(api, "newest") == {ticket.pk}


@pytest.mark.parametrize("q", ['"unclosed', "-", "&|!:*()", "'", "a" * 200, "the"])
def test_any_text_is_a_search_not_an_error(api, agent_client, tickets, q):
    found = api_found(api, q), console_found(agent_client, q)  # each asserts a 200
    if connection.vendor == "postgresql":  # SQLite finds "-" and "the" as substrings
        assert found == (set(), set())


def test_a_nul_byte_in_the_search_is_refused_not_a_server_error(api, agent_client, tickets):
    response = api.get("/v1/tickets", {"q": "a\x00b"})
    assert response.status_code == 400 and "q" in response.json()["errors"]
    assert agent_client.get(CHANGELIST, {"q": "a\x00b"}).status_code in (200, 302)


def test_the_console_list_searched_and_filtered_by_tag_is_constant_in_rows(agent_client):
    billing, _ = Tag.objects.get_or_create(name="billing")

    def add(i: int) -> None:
        ticket = TicketFactory(subject=f"Invoice question {i}", description="")
        ticket.tags.add(billing, Tag.objects.create(name=f"t{i}"))
        services.message_create(ticket=ticket, direction="inbound", body="the invoice is wrong")

    assert assert_constant(agent_client, f"{CHANGELIST}?tag=billing&q=invoice", add) > 0


def api_pages(api, q: str, ordering: str) -> tuple[int, list[int]]:
    """The API's search followed page by page through `next`: its count and the ids in order."""
    url, params, count, ids = "/v1/tickets", {"q": q, "page_size": 3, "ordering": ordering}, None, []
    while url:
        response = api.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert count in (None, body["count"])
        count, url, params = body["count"], body["next"], None
        ids += [row["id"] for row in body["results"]]
    return count, ids


@pytest.mark.parametrize("ordering", ["-created_at", "created_at", "-updated_at"])
def test_a_search_lists_pages_and_orders_alike_with_few_or_many_matches(
    api, agent_client, monkeypatch, ordering
):
    """With at most FEW_MATCHES matches the search lists them by id; above, it filters the
    list's order: the same tickets, order and pages either way."""
    start = timezone.now() - timedelta(days=1)
    for n in range(7):
        ticket = TicketFactory(
            subject=f"Invoice {n}", description="", created_at=start + timedelta(minutes=n)
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=start + timedelta(minutes=(n * 3) % 7))
    TicketFactory(subject="Feature question", description="")
    invoices = Ticket.objects.filter(subject__startswith="Invoice")
    expected = list(invoices.order_by(ordering).values_list("pk", flat=True))
    # The console over every status lists by last activity (TicketAdmin.get_ordering).
    recent = list(invoices.order_by("-updated_at", "-pk").values_list("pk", flat=True))

    for few in (1000, 7, 6, 0):
        monkeypatch.setattr("tickets.search.FEW_MATCHES", few)
        assert api_pages(api, "invoice", ordering) == (7, expected), few
        assert console_found_in_order(agent_client, "invoice") == recent, few


def console_found_in_order(client, q: str) -> list[int]:
    response = client.get(CHANGELIST, {"q": q, "status": "all"})
    assert response.status_code == 200
    return [ticket.pk for ticket in response.context["cl"].result_list]


@pytest.mark.parametrize("url", ["/v1/tickets?q=invoice", f"{CHANGELIST}?q=invoice&status=all"])
def test_a_search_runs_as_many_statements_with_few_matches_as_with_many(
    counted_api, agent_client, monkeypatch, url
):
    monkeypatch.setattr("tickets.search.FEW_MATCHES", 10)  # 3 matches listed by id, then 20 not
    client = counted_api if url.startswith("/v1") else agent_client

    def add(i: int) -> None:
        TicketFactory(subject=f"Invoice question {i}", description="")

    assert assert_constant(client, url, add) > 0
