"""Tags on tickets: one service, the API (`tags`, `?tag=`), and the console's filter and bulk actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.actors import Actor
from supporthub.api.pagination import forget_estimates
from supporthub.exceptions import DomainError
from tests.factories import TicketFactory
from tickets import services
from tickets.models import Tag, Ticket, TicketChange

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"


def tags_of(ticket: Ticket) -> list[str]:
    return list(Ticket.objects.get(pk=ticket.pk).tags.values_list("name", flat=True))


def tag(ticket: Ticket, *names: str) -> Ticket:
    return services.ticket_update(ticket=ticket, actor=Actor(name="test"), tags=names)


# --- the service ----------------------------------------------------------------------------
def test_tags_are_stored_lower_case_once_each_and_the_change_is_in_the_history(agent):
    ticket = TicketFactory()
    before = Ticket.objects.get(pk=ticket.pk).updated_at
    services.ticket_update(ticket=ticket, actor=Actor.of(agent), tags=["VIP", " billing ", "vip"])
    assert tags_of(ticket) == ["billing", "vip"]
    change = TicketChange.objects.get(ticket=ticket, field="tags")
    assert (change.old_value, change.new_value, change.actor) == ("", "billing, vip", agent)
    assert Ticket.objects.get(pk=ticket.pk).updated_at > before


def test_add_and_remove_adjust_the_tags_and_setting_the_same_ones_records_nothing():
    ticket = tag(TicketFactory(), "billing", "vip")
    services.ticket_update(
        ticket=ticket, actor=Actor(name="test"), add_tags=["refund"], remove_tags=["vip", "nope"]
    )
    assert tags_of(ticket) == ["billing", "refund"]
    tag(ticket, "refund", "billing")
    assert list(TicketChange.objects.filter(ticket=ticket).values_list("new_value", flat=True)) == [
        "billing, vip",
        "billing, refund",
    ]
    assert Tag.objects.filter(name="refund").count() == 1  # shared with other tickets, made once
    assert tags_of(tag(TicketFactory(), "refund")) == ["refund"]
    assert Tag.objects.filter(name="refund").count() == 1


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (["a" * 51], "A tag has at most 50 characters"),
        (["two words"], "Tag 'two words': use letters a-z, digits, '-' and '_'"),
        (["-lead"], "starting with a letter or digit"),
        (["café"], "Tag 'café'"),
        ([""], "A tag cannot be empty."),
        ([f"t{n}" for n in range(21)], "A ticket has at most 20 tags."),
    ],
)
def test_a_bad_tag_is_refused_naming_the_problem_and_nothing_changes(names, problem):
    ticket = tag(TicketFactory(subject="Before"), "kept")
    with pytest.raises(DomainError, match=problem) as refused:
        services.ticket_update(ticket=ticket, actor=Actor(name="test"), subject="After", tags=names)
    assert refused.value.field == "tags"
    assert tags_of(ticket) == ["kept"]
    assert Ticket.objects.get(pk=ticket.pk).subject == "Before"


# --- the API --------------------------------------------------------------------------------
def test_patch_replaces_the_tags_and_every_read_shows_them(api):
    ticket = tag(TicketFactory(), "old")
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"tags": ["Billing", "vip"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["billing", "vip"]
    assert api.get(f"/v1/tickets/{ticket.pk}").json()["tags"] == ["billing", "vip"]
    assert api.get("/v1/tickets").json()["results"][0]["tags"] == ["billing", "vip"]
    assert TicketChange.objects.get(
        ticket=ticket, field="tags", new_value="billing, vip"
    ).actor_name.startswith("API key")
    # null is "not given" (as for every optional field); [] removes every tag
    assert api.patch(f"/v1/tickets/{ticket.pk}", {"tags": None}, format="json").json()["tags"] == [
        "billing",
        "vip",
    ]
    assert api.patch(f"/v1/tickets/{ticket.pk}", {"tags": []}, format="json").json()["tags"] == []


@pytest.mark.parametrize(
    "tags",
    [
        "billing",
        ["a" * 51],
        ["two words"],
        ["semi;colon"],
        [None],
        [7],
        [{"name": "x"}],
        [f"t{n}" for n in range(21)],
    ],
)
def test_bad_tags_in_a_patch_are_a_400_naming_tags(api, tags):
    ticket = tag(TicketFactory(), "kept")
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"tags": tags}, format="json")
    assert response.status_code == 400
    assert [key.split(".")[0] for key in response.json()["errors"]] == ["tags"]  # "tags" or "tags.0"
    assert tags_of(ticket) == ["kept"]


def test_the_list_filters_on_every_tag_named(api):
    both = tag(TicketFactory(subject="both"), "billing", "vip")
    tag(TicketFactory(subject="billing only"), "billing")
    TicketFactory(subject="untagged")

    def subjects(query: str) -> list[str]:
        response = api.get(f"/v1/tickets?{query}")
        assert response.status_code == 200, response.content
        return sorted(ticket["subject"] for ticket in response.json()["results"])

    assert subjects("tag=billing") == ["billing only", "both"]
    assert subjects("tag=billing&tag=VIP") == ["both"]
    assert api.get("/v1/tickets?tag=billing&tag=vip").json()["count"] == 1
    assert subjects("tag=nobody-has-it") == []
    assert subjects("tag=vip&status=new") == [both.subject]


@pytest.mark.parametrize("query", ["tag=two%20words", "tag=" + "a" * 51, "tag="])
def test_a_bad_tag_filter_is_a_400_naming_tag(api, query):
    response = api.get(f"/v1/tickets?{query}")
    assert response.status_code == 400
    assert "tag" in response.json()["errors"]


def test_the_list_with_tags_runs_a_constant_number_of_queries(counted_api, agent):
    def count() -> int:
        forget_estimates()  # each count starts cold: no planner estimate kept from the last one
        with CaptureQueriesContext(connection) as ctx:
            assert counted_api.get("/v1/tickets?page_size=100&tag=billing").status_code == 200
        return len(ctx.captured_queries)

    for ticket in TicketFactory.create_batch(5, assignee=agent):
        tag(ticket, "billing", "vip")
    five = count()
    for n, ticket in enumerate(TicketFactory.create_batch(45, assignee=agent)):
        tag(ticket, "billing", f"t{n}", f"u{n}")
    assert count() == five
    # The page, the count (on PostgreSQL: the planner's estimate, then an exact count), the
    # tags, the links.
    assert five == (5 if connection.vendor == "postgresql" else 4)


def test_the_schema_describes_tags_and_the_repeatable_filter(api):
    schema = api.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    assert components["Ticket"]["properties"]["tags"]["items"]["type"] == "string"
    writable = components["PatchedTicketUpdateRequest"]["properties"]["tags"]
    assert (writable["type"], writable["maxItems"], writable["items"]["maxLength"]) == ("array", 20, 50)
    assert writable["items"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9_-]*$"
    [parameter] = [p for p in schema["paths"]["/v1/tickets"]["get"]["parameters"] if p["name"] == "tag"]
    assert parameter["schema"]["type"] == "array"
    assert parameter.get("explode", True) is True  # ?tag=a&tag=b


# --- the console ----------------------------------------------------------------------------
def test_the_console_filters_the_list_by_tag(agent_client):
    tag(TicketFactory(subject="Refund overdue"), "refund")
    TicketFactory(subject="Password reset")
    page = agent_client.get(CHANGELIST, {"tag": "refund"}).content.decode()
    assert "Refund overdue" in page and "Password reset" not in page
    assert "?tag=refund" in agent_client.get(CHANGELIST).content.decode()  # offered in the sidebar


def test_bulk_actions_add_and_remove_tags_through_the_service(agent_client, agent):
    first, second = tag(TicketFactory(), "vip"), TicketFactory()
    selected = [first.pk, second.pk]
    form = agent_client.post(CHANGELIST, {"action": "add_tags", "_selected_action": selected})
    assert b'name="add_tags"' in form.content
    response = agent_client.post(
        CHANGELIST,
        {"action": "add_tags", "_selected_action": selected, "apply": "1", "add_tags": "Billing, refund"},
        follow=True,
    )
    assert "Updated 2 tickets" in response.content.decode()
    assert (tags_of(first), tags_of(second)) == (["billing", "refund", "vip"], ["billing", "refund"])
    agent_client.post(
        CHANGELIST,
        {"action": "remove_tags", "_selected_action": selected, "apply": "1", "remove_tags": "refund vip"},
    )
    assert (tags_of(first), tags_of(second)) == (["billing"], ["billing"])
    assert TicketChange.objects.filter(field="tags", actor=agent).count() == 4


def test_a_bad_tag_in_the_bulk_form_is_shown_and_changes_nothing(agent_client):
    ticket = TicketFactory()
    response = agent_client.post(
        CHANGELIST,
        {"action": "add_tags", "_selected_action": [ticket.pk], "apply": "1", "add_tags": "ok, no!"},
    )
    assert "Tag &#x27;no!&#x27;" in response.content.decode()
    assert tags_of(ticket) == []


def test_the_ticket_page_edits_the_tags(agent_client):
    ticket = tag(TicketFactory(), "vip")
    url = f"{CHANGELIST}{ticket.pk}/change/"
    page = agent_client.get(url)
    form = page.context["adminform"].form
    assert form["tags"].value() == "vip"
    data = {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "tags": "vip billing",
        "seen_updated_at": form["seen_updated_at"].value(),
    }
    assert agent_client.post(url, data).status_code == 302
    assert tags_of(ticket) == ["billing", "vip"]
