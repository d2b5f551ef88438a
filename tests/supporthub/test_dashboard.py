from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.models import Schedule
from notifications.models import Delivery, DeliveryStatus
from supporthub.dashboard import dashboard_summary
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.factories import ContactFactory
from tickets import services
from tickets.models import TicketPriority

pytestmark = pytest.mark.django_db


def test_dashboard_shows_open_incidents_failed_deliveries_and_who_is_on_call(admin_client):
    services.ticket_create(
        contact=ContactFactory(), subject="Site down", channel="api", priority=TicketPriority.URGENT
    )  # the default policy opens an incident for urgent tickets
    Delivery.objects.create(
        channel="email",
        recipient="x@example.com",
        body="b",
        idempotency_key="k1",
        status=DeliveryStatus.FAILED,
    )
    rows = {row["label"]: row["value"] for row in dashboard_summary()["extra_rows"]}
    assert rows == {"Open incidents": 1, "Failed deliveries": 1}
    oncall = dashboard_summary()["oncall"]
    assert [row["schedule"].name for row in oncall] == ["Support"]
    assert oncall[0]["who"] == "nobody (gap)"  # a fresh install has nobody on the schedule yet
    page = admin_client.get("/admin/").content.decode()
    assert "Open incidents" in page and "On call now" in page and "nobody (gap)" in page


def test_who_is_on_call_leads_the_dashboard_with_unreachable_people_and_gaps_flagged(admin_client):
    desk = Schedule.objects.create(name="Night desk", time_zone="Europe/Berlin")
    # One week-long shift that started yesterday, then nobody: a gap within the next 14 days.
    layer = add_layer(
        desk, [make_oncall_user("quiet.quinn")], unit="weeks", start=timezone.localdate() - timedelta(days=1)
    )
    layer.end_date = layer.start_date + timedelta(weeks=1)
    layer.save()

    row = next(row for row in dashboard_summary()["oncall"] if row["schedule"] == desk)
    assert str(row["who"]) == "quiet.quinn"
    assert row["unreachable"] and row["css"] == "sla-breached"  # no contact method shown to reach them
    assert "1 gap(s)" in row["problems"] and "not shown reachable" in row["problems"]

    page = admin_client.get("/admin/").content.decode()
    assert page.index("On call now") < page.index("tickets</a>")  # before the ticket counts
    assert "quiet.quinn <strong>(not shown reachable)</strong>" in page
