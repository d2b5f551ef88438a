"""The filtered ticket list is one plain indexed query: no SELECT DISTINCT over every column."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_filtering_by_status_priority_and_channel_selects_no_distinct_and_repeats_no_ticket(api):
    tickets = [TicketFactory(status="open", priority=4, channel="phone") for _ in range(3)]
    TicketFactory(status="closed", priority=4, channel="phone")
    url = "/v1/tickets?status=open&status=pending&priority=urgent&channel=phone&channel=email"
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)

    assert response.status_code == 200, response.content
    assert sorted(row["id"] for row in response.json()["results"]) == sorted(t.pk for t in tickets)
    assert not any("DISTINCT" in query["sql"] for query in queries.captured_queries)
