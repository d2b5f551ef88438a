"""GET /v1/calls (read-only, filtered) and the call log in the agent console."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supporthub.api.pagination import forget_estimates
from telephony.models import CallLog
from tests.factories import TicketFactory
from tests.telephony.conftest import CALLER, ON_CALL, sid, twiml

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(twilio):
    """One answered call and one that ended in voicemail."""
    answered, missed = sid("CA"), sid("CA")
    twiml(twilio.incoming_call(answered))
    twiml(twilio.dial_result(answered, 0, "completed"))
    twiml(twilio.status(answered, "completed", CallDuration="70"))
    twiml(twilio.incoming_call(missed, caller="+14155550177"))
    twiml(twilio.dial_result(missed, 0, "no-answer"))
    twiml(twilio.recording(missed, sid("RE")))
    return CallLog.objects.get(call_sid=answered), CallLog.objects.get(call_sid=missed)


def test_the_call_list_needs_an_api_key(anon):
    assert anon.get("/v1/calls").status_code in (401, 403)


def test_the_call_list_shows_the_contract_fields_newest_first(api, calls):
    answered, missed = calls
    body = api.get("/v1/calls").json()

    assert body["count"] == 2
    assert [row["call_sid"] for row in body["results"]] == [missed.call_sid, answered.call_sid]
    row = body["results"][1]
    assert {"id", "call_sid", "direction", "from_number", "to_number", "status", "duration", "ticket",
            "created_at"} <= set(row)  # fmt: skip
    assert (row["from_number"], row["forwarded_to"], row["status"], row["duration"]) == (
        CALLER,
        ON_CALL,
        "completed",
        70,
    )
    assert (row["outcome"], row["ticket"]) == ("answered", answered.ticket_id)


def _call_with_a_leg() -> CallLog:
    call = CallLog.objects.create(
        call_sid=sid("CA"), direction="inbound", from_number=CALLER, to_number=ON_CALL, ticket=TicketFactory()
    )
    CallLog.objects.create(
        call_sid=sid("CA"), direction="outbound", from_number=ON_CALL, to_number=CALLER, parent=call
    )
    return call


def test_the_call_list_and_detail_run_a_constant_number_of_queries(counted_api):
    def count(url):
        forget_estimates()  # each count starts cold: no planner estimate kept from the last one
        with CaptureQueriesContext(connection) as ctx:
            assert counted_api.get(url).status_code == 200
        return len(ctx.captured_queries)

    call = _call_with_a_leg()
    two = count("/v1/calls?page_size=100")
    for _ in range(20):
        _call_with_a_leg()
    assert count("/v1/calls?page_size=100") == two
    # The page; the count (on PostgreSQL: the planner's estimate first, then an exact count).
    assert two == (3 if connection.vendor == "postgresql" else 2)
    assert count("/v1/calls?page_size=100&direction=inbound") == two
    assert count(f"/v1/calls/{call.pk}") == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=completed", ["answered"]),
        ("outcome=voicemail", ["missed"]),
        ("has_voicemail=true", ["missed"]),
        ("from_number=%2B14155550177", ["missed"]),
        ("direction=outbound", []),
    ],
)
def test_the_call_list_filters(api, calls, query, expected):
    by_name = {"answered": calls[0].call_sid, "missed": calls[1].call_sid}
    body = api.get(f"/v1/calls?{query}").json()
    assert [row["call_sid"] for row in body["results"]] == [by_name[name] for name in expected]


def test_the_call_list_filters_by_ticket(api, calls):
    answered, _ = calls
    body = api.get(f"/v1/calls?ticket={answered.ticket_id}").json()
    assert [row["id"] for row in body["results"]] == [answered.pk]


def test_an_unknown_filter_value_is_a_400(api, calls):
    assert api.get("/v1/calls?status=exploded").status_code == 400


def test_one_call_can_be_read_but_not_written(api, calls):
    _, missed = calls
    response = api.get(f"/v1/calls/{missed.pk}")
    assert response.status_code == 200
    assert response.json()["recording_url"] == missed.recording_url
    assert api.post("/v1/calls", {}, format="json").status_code == 405
    assert api.patch(f"/v1/calls/{missed.pk}", {"status": "failed"}, format="json").status_code == 405
    assert api.get("/v1/calls/999999").status_code == 404


def test_the_admin_lists_calls_with_caller_id_and_shows_one(admin_client, calls):
    _, missed = calls
    listing = admin_client.get("/admin/telephony/calllog/")
    assert listing.status_code == 200
    assert "+1 415-555-0199" in listing.content.decode()
    page = admin_client.get(f"/admin/telephony/calllog/{missed.pk}/change/")
    assert page.status_code == 200
    assert "Listen" in page.content.decode()
    assert admin_client.get("/admin/telephony/calllog/add/").status_code == 403


def test_the_call_list_filters_by_creation_time(api, calls):
    assert api.get("/v1/calls?created_after=2000-01-01T00:00:00Z").json()["count"] == 2
    assert api.get("/v1/calls?created_before=2000-01-01T00:00:00%2B23:30").json()["count"] == 0
    assert api.get("/v1/calls?created_after=").status_code == 400
    assert api.get("/v1/calls?has_voicemail=maybe").status_code == 400
