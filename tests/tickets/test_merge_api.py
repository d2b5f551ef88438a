"""POST /v1/tickets/{id}/merge and /v1/tickets/{id}/links: wiring, validation, scopes."""

import pytest
from rest_framework.test import APIClient

from supporthub.roles import KeyScope
from tests.factories import MessageFactory, TicketFactory, make_api_key
from tests.query_counts import assert_constant
from tickets.models import Ticket, TicketChange, TicketStatus

pytestmark = pytest.mark.django_db


def _client(scope: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_api_key(name=f"{scope} key", scope=scope))
    return client


@pytest.fixture
def pair():
    return TicketFactory(status=TicketStatus.OPEN), TicketFactory(status=TicketStatus.OPEN)


@pytest.mark.parametrize("name_by", ["id", "reference", "lower-case reference"])
def test_merge_answers_the_target_and_the_detail_shows_merged_into(api, pair, name_by):
    source, target = pair
    MessageFactory(ticket=source)
    into = {"id": target.pk, "reference": target.reference, "lower-case reference": target.reference.lower()}

    response = api.post(f"/v1/tickets/{source.pk}/merge", {"into": into[name_by]}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["merged_into"]) == (target.pk, None)
    detail = api.get(f"/v1/tickets/{source.pk}").json()
    assert (detail["merged_into"], detail["status"]) == (target.reference, "closed")
    change = TicketChange.objects.get(ticket=target, field="merge")
    assert change.actor_name == "API key “tests”"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "required"),
        ({"into": None}, "null"),
        ({"into": "SH-999999"}, "No ticket SH-999999"),
        ({"into": 999999}, "No ticket 999999"),
        ({"into": "drop table"}, "id or its reference"),
        ({"into": "SH-1\x00"}, "id or its reference"),
        ({"into": True}, "id or its reference"),
        ({"into": [1]}, "id or its reference"),
        ({"into": 1, "extra": 1}, "extra"),
    ],
)
def test_a_bad_target_is_a_400_naming_the_field(api, pair, body, words):
    source, _ = pair
    response = api.post(f"/v1/tickets/{source.pk}/merge", body, format="json")
    assert response.status_code == 400
    assert words in str(response.json()["errors"])
    assert Ticket.objects.get(pk=source.pk).status == TicketStatus.OPEN


def test_a_refused_merge_is_a_400_on_into(api, pair):
    source, target = pair
    response = api.post(f"/v1/tickets/{source.pk}/merge", {"into": source.pk}, format="json")
    assert response.status_code == 400
    assert "into itself" in response.json()["errors"]["into"][0]

    assert api.post(f"/v1/tickets/{source.pk}/merge", {"into": target.pk}, format="json").status_code == 200
    back = api.post(f"/v1/tickets/{target.pk}/merge", {"into": source.pk}, format="json")
    assert back.status_code == 400
    assert "cycle" in back.json()["errors"]["into"][0]


def test_merging_an_unknown_ticket_is_a_404(api, pair):
    assert api.post("/v1/tickets/999999/merge", {"into": pair[1].pk}, format="json").status_code == 404


def test_a_merge_replayed_with_its_idempotency_key_answers_the_same_and_writes_nothing(api, pair):
    source, target = pair
    url, headers = f"/v1/tickets/{source.pk}/merge", {"HTTP_IDEMPOTENCY_KEY": "merge-1"}
    first = api.post(url, {"into": target.pk}, format="json", **headers)
    again = api.post(url, {"into": target.pk}, format="json", **headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert TicketChange.objects.filter(field="merge").count() == 2


@pytest.mark.parametrize(
    ("scope", "allowed"), [(KeyScope.READ_ONLY, False), (KeyScope.INTAKE, False), (KeyScope.AGENT, True)]
)
def test_merging_and_linking_need_a_scope_that_changes_tickets(pair, scope, allowed):
    source, target = pair
    client = _client(scope)
    expected = 200 if allowed else 403
    assert (
        client.post(f"/v1/tickets/{source.pk}/links", {"ticket": target.pk}, format="json").status_code
        == expected
    )
    if allowed:
        assert client.delete(f"/v1/tickets/{source.pk}/links/{target.reference}").status_code == 200
    assert (
        client.post(f"/v1/tickets/{source.pk}/merge", {"into": target.pk}, format="json").status_code
        == expected
    )
    assert (Ticket.objects.get(pk=source.pk).merged_into_id == target.pk) is allowed


def test_unlinking_with_a_read_only_key_is_a_403(pair):
    source, target = pair
    source.links.add(target)
    assert _client(KeyScope.READ_ONLY).delete(f"/v1/tickets/{source.pk}/links/{target.pk}").status_code == 403
    assert source.links.exists()


def test_links_are_added_and_removed_by_id_or_reference_and_shown_on_both(api, pair):
    one, two = pair
    response = api.post(f"/v1/tickets/{one.pk}/links", {"ticket": two.reference}, format="json")
    assert response.status_code == 200
    assert response.json()["links"] == [two.reference]
    assert api.get(f"/v1/tickets/{two.pk}").json()["links"] == [one.reference]

    response = api.delete(f"/v1/tickets/{two.pk}/links/{one.pk}")
    assert response.status_code == 200
    assert response.json()["links"] == []
    assert api.get(f"/v1/tickets/{one.pk}").json()["links"] == []


@pytest.mark.parametrize(("other", "status"), [("SH-999999", 404), ("nope", 404)])
def test_unlinking_an_unknown_ticket_is_a_404(api, pair, other, status):
    assert api.delete(f"/v1/tickets/{pair[0].pk}/links/{other}").status_code == status


def test_linking_a_ticket_to_itself_or_to_nothing_is_a_400(api, pair):
    one, _ = pair
    itself = api.post(f"/v1/tickets/{one.pk}/links", {"ticket": one.pk}, format="json")
    assert itself.status_code == 400 and "itself" in itself.json()["errors"]["ticket"][0]
    nothing = api.post(f"/v1/tickets/{one.pk}/links", {"ticket": "SH-999999"}, format="json")
    assert nothing.status_code == 400 and "No ticket" in nothing.json()["errors"]["ticket"][0]


def test_deleting_a_ticket_is_still_not_allowed(api, pair):
    assert api.delete(f"/v1/tickets/{pair[0].pk}").status_code == 405


def test_the_detail_and_list_are_constant_in_links(counted_api):
    ticket = TicketFactory()

    def add(i: int) -> None:
        ticket.links.add(TicketFactory())
        TicketFactory(merged_into=TicketFactory())

    assert assert_constant(counted_api, f"/v1/tickets/{ticket.pk}", add) == 3  # ticket, tags, links
    assert_constant(counted_api, "/v1/tickets?page_size=100", add)


def test_the_schema_describes_merge_and_links(api):
    schema = api.get("/v1/schema?format=json").json()
    paths = schema["paths"]
    assert "post" in paths["/v1/tickets/{id}/merge"]
    assert "400" in paths["/v1/tickets/{id}/merge"]["post"]["responses"]
    assert "post" in paths["/v1/tickets/{id}/links"]
    assert "delete" in paths["/v1/tickets/{id}/links/{other}"]
    assert {"merged_into", "links"} <= set(schema["components"]["schemas"]["Ticket"]["properties"])
