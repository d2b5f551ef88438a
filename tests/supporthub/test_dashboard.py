import pytest

from notifications.models import Delivery, DeliveryStatus
from supporthub.dashboard import dashboard_summary
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
