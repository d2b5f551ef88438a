"""One search (tickets.search.ticket_search) behind the API's `q` and the console's search box."""

import pytest

from supporthub.actors import SYSTEM
from tests.factories import ContactFactory, TicketFactory
from tests.query_counts import assert_constant
from tests.services import require_postgres
from tickets import merging, services
from tickets.models import Tag
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
        ("REFUND double", {"refund"}),  # words of one subject, any case
        ("parcel", {"parcel"}),  # a word of a message body
        ("trk4412", {"parcel"}),  # in the ticket's second message
        ("nightly", {"quiet"}),  # the description
        ("CAFÉ", {"refund"}),  # "café", in a message
        ("zoe.mueller@EXAMPLE.com", {"refund"}),  # the contact's email, exactly but in any case
        ("+1 (415) 555-0123", {"refund"}),  # the contact's phone, in any format
        ("sh-999999", {"printers"}),  # a reference no ticket has: quoted in a message
        ('"never arrived"', {"parcel"}),  # a phrase
        ("parcel -arrived", set()),  # websearch's "not"
        ("refund or parcel", {"refund", "parcel"}),
        ("volcano", set()),
    ],
)
def test_the_api_and_the_console_find_the_same_tickets(api, agent_client, tickets, q, names):
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
    assert api_found(api, q) == set()
    assert console_found(agent_client, q) == set()


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
