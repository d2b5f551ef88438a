"""The /v1 contract details a client generated from the schema relies on."""

import pytest
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator

from escalation.models import Schedule
from tests.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_phone_intake_with_a_null_email_is_accepted(api):
    body = {"channel": "phone", "name": "Dana", "email": None, "phone": "+14155550123", "subject": "S"}
    response = api.post("/v1/support/request", {**body, "message": "Hi", "priority": None}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["ticket"]["contact"]["email"] is None
    assert response.json()["ticket"]["priority"] == "normal"


def test_null_optional_fields_of_a_ticket_and_its_contact_are_left_out(api):
    body = {
        "subject": "S",
        "description": None,
        "contact": {"name": "D", "email": None, "phone": "+14155550123"},
    }
    assert api.post("/v1/tickets", body, format="json").status_code == 201


def test_a_required_field_sent_as_null_is_still_refused(api):
    body = {"channel": "chat", "name": "Dana", "email": "d@example.com", "subject": None, "message": "Hi"}
    response = api.post("/v1/support/request", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["subject"]


@pytest.mark.parametrize(
    "path", ["/v1/tickets", "/v1/messages", "/v1/calls", "/v1/incidents", "/v1/oncall/schedules"]
)
def test_an_unknown_ordering_is_a_400_that_names_it(api, path):
    response = api.get(path, {"ordering": "password"})
    assert response.status_code == 400
    [message] = response.json()["errors"]["ordering"]
    assert message.startswith("Cannot order by 'password'; choose from ")


def test_an_empty_ordering_is_a_400_and_the_schema_gives_the_pattern(api):
    assert list(api.get("/v1/tickets?ordering=").json()["errors"]) == ["ordering"]
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    [ordering] = [p for p in paths["/v1/tickets"]["get"]["parameters"] if p["name"] == "ordering"]
    assert ordering["schema"]["pattern"] == (
        "^-?(?:created_at|updated_at|priority)(?:,-?(?:created_at|updated_at|priority))*$"
    )
    [q] = [p for p in paths["/v1/tickets"]["get"]["parameters"] if p["name"] == "q"]
    assert q["schema"]["minLength"] == 1


def test_a_known_ordering_still_orders(api):
    first, second = TicketFactory(priority=1), TicketFactory(priority=3)
    ids = [ticket["id"] for ticket in api.get("/v1/tickets", {"ordering": "-priority"}).json()["results"]]
    assert ids == [second.pk, first.pk]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/v1/nope", "/v1/tickets/1/nope", "/v1/"])
def test_unknown_v1_paths_answer_a_json_404_with_debug_on_or_off(api, path, debug):
    with override_settings(DEBUG=debug):
        response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": f"No such path: {path}", "code": "not_found"}


@pytest.mark.parametrize(
    "query",
    [
        "/v1/calls?direction=",
        "/v1/messages?ticket=",
        "/v1/tickets?status=",
        "/v1/tickets?page=",
        "/v1/calls?page=x",
    ],
)
def test_an_empty_or_malformed_query_parameter_is_a_400_naming_it(api, query):
    response = api.get(query)
    assert response.status_code == 400, response.content
    name = query.split("?")[1].split("=")[0]
    assert list(response.json()["errors"]) == [name]


def test_a_page_past_the_end_is_still_a_404(api):
    assert api.get("/v1/tickets?page=9").status_code == 404
    assert api.get("/v1/tickets?page=1").status_code == 200


def test_an_empty_assignee_is_refused_and_null_unassigns(api):
    agent = UserFactory(username="alice")
    ticket = TicketFactory(assignee=agent)
    response = api.patch(f"/v1/tickets/{ticket.pk}", {"assignee": ""}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["assignee"]
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert api.patch(f"/v1/tickets/{ticket.pk}", {"assignee": None}, format="json").json()["assignee"] is None


def test_the_feed_and_now_document_their_400s():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "400" in paths["/v1/oncall/schedules/{id}.ics"]["get"]["responses"]
    assert "400" in paths["/v1/oncall/schedules/{id}/now"]["get"]["responses"]
    [days] = [p for p in paths["/v1/oncall/schedules/{id}.ics"]["get"]["parameters"] if p["name"] == "days"]
    assert (days["schema"]["minimum"], days["schema"]["maximum"]) == (1, 180)


def test_the_feed_and_now_answer_400_to_bad_values(api):
    schedule = Schedule.objects.get(name="Support")
    assert api.get(f"/v1/oncall/schedules/{schedule.pk}.ics?days=-6458").status_code == 400
    assert api.get(f"/v1/oncall/schedules/{schedule.pk}/now?at=yesterday").status_code == 400
