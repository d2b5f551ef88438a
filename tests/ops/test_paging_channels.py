"""PagerDuty (Events API v2) and Opsgenie channels against fake servers on 127.0.0.1."""

import time

import pytest

from notifications.channels import ChannelError
from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_create, delivery_send
from notifications.paging import incident_paging_mirror
from supporthub.exceptions import DomainError
from tests.notifications.fakes import FakeServer, Received, Reply

pytestmark = pytest.mark.django_db


class FakePagerDuty(FakeServer):
    def default(self, request: Received) -> Reply:
        event = request.json()
        return Reply(
            202, {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}
        )


class FakeOpsgenie(FakeServer):
    def default(self, request: Received) -> Reply:
        return Reply(
            202,
            {
                "result": "Request will be processed",
                "took": 0.1,
                "requestId": "req-" + str(len(self.requests)),
            },
        )


@pytest.fixture
def pagerduty(settings):
    with FakePagerDuty().running() as server:
        settings.PAGERDUTY_ROUTING_KEY = "R0UT1NGKEY"
        settings.PAGERDUTY_EVENTS_URL = server.url + "/v2/enqueue"
        yield server


@pytest.fixture
def opsgenie(settings):
    with FakeOpsgenie().running() as server:
        settings.OPSGENIE_API_KEY = "genie-key"
        settings.OPSGENIE_API_URL = server.url
        yield server


def page(channel, action, incident=42, **payload):
    delivery = delivery_create(
        channel=channel,
        recipient=channel,
        subject="Urgent ticket SH-1042: printer on fire",
        body="Carol reports the printer is on fire.",
        idempotency_key=f"{channel}:incident:{incident}:{action}:{time.monotonic_ns()}",
        payload={"action": action, "dedup_key": f"incident-{incident}", **payload},
    )
    outcome = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery, outcome


def test_pagerduty_trigger_acknowledge_resolve_mirror_the_incident(pagerduty):
    for action in ("trigger", "acknowledge", "resolve"):
        delivery, _ = page("pagerduty", action)
        assert delivery.status == DeliveryStatus.SENT
        assert delivery.provider_id == "incident-42"
    trigger, ack, resolve = (request.json() for request in pagerduty.requests)
    assert [request.path for request in pagerduty.requests] == ["/v2/enqueue"] * 3
    assert trigger["routing_key"] == "R0UT1NGKEY"
    assert [e["event_action"] for e in (trigger, ack, resolve)] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in (trigger, ack, resolve)} == {"incident-42"}
    assert trigger["payload"]["summary"] == "Urgent ticket SH-1042: printer on fire"
    assert trigger["payload"]["severity"] == "critical"
    assert "payload" not in ack


def test_pagerduty_rate_limit_is_retried_and_bad_requests_are_permanent(pagerduty):
    pagerduty.answer(Reply(429, {"status": "throttle"}), Reply(400, {"status": "invalid event"}))
    delivery, _ = page("pagerduty", "trigger", incident=1)
    assert delivery.status == DeliveryStatus.PENDING  # retried later
    assert "429" in delivery.last_error
    delivery, _ = page("pagerduty", "trigger", incident=2)
    assert delivery.status == DeliveryStatus.FAILED
    assert "400" in delivery.last_error


def test_pagerduty_server_errors_are_transient(pagerduty):
    pagerduty.answer(Reply(502, "bad gateway"))
    delivery, _ = page("pagerduty", "trigger", incident=3)
    assert delivery.status == DeliveryStatus.PENDING


def test_opsgenie_creates_acknowledges_and_closes_the_alert_by_alias(opsgenie):
    for action in ("trigger", "acknowledge", "resolve"):
        delivery, _ = page("opsgenie", action, priority="P2")
        assert delivery.status == DeliveryStatus.SENT
    create, ack, close = opsgenie.requests
    assert create.path == "/v2/alerts"
    assert create.headers["authorization"] == "GenieKey genie-key"
    assert create.json()["alias"] == "incident-42"
    assert create.json()["priority"] == "P2"
    assert create.json()["message"] == "Urgent ticket SH-1042: printer on fire"
    assert ack.path == "/v2/alerts/incident-42/acknowledge?identifierType=alias"
    assert close.path == "/v2/alerts/incident-42/close?identifierType=alias"


def test_opsgenie_bad_key_is_permanent_and_429_is_retried(opsgenie):
    opsgenie.answer(Reply(401, {"message": "Key format is not valid!"}), Reply(429, {"message": "slow down"}))
    delivery, _ = page("opsgenie", "trigger", incident=5)
    assert delivery.status == DeliveryStatus.FAILED
    delivery, _ = page("opsgenie", "trigger", incident=6)
    assert delivery.status == DeliveryStatus.PENDING


def test_paging_without_credentials_is_skipped_not_faked(settings):
    settings.PAGERDUTY_ROUTING_KEY = ""
    delivery, _ = page("pagerduty", "trigger", incident=7)
    assert delivery.status == DeliveryStatus.SKIPPED


def test_an_event_without_a_dedup_key_is_refused(pagerduty):
    from notifications.channels import pagerduty as adapter

    class D:
        payload = {"action": "trigger"}
        subject = "s"
        body = "b"

    with pytest.raises(ChannelError) as error:
        adapter.send(D())  # type: ignore[arg-type]
    assert error.value.permanent


def _send_all(deliveries):
    for delivery in deliveries:
        delivery_send(delivery_id=delivery.pk)


def test_an_incident_is_mirrored_to_both_services_with_its_id_as_dedup_key(pagerduty, opsgenie):
    _send_all(
        incident_paging_mirror(incident_id=77, action="trigger", summary="SH-1077 urgent", details="fire")
    )
    _send_all(incident_paging_mirror(incident_id=77, action="acknowledge", summary="SH-1077 urgent"))
    _send_all(incident_paging_mirror(incident_id=77, action="resolve", summary="SH-1077 urgent"))

    events = [request.json() for request in pagerduty.requests]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {"supporthub-incident-77"}
    assert [request.path.split("?")[0] for request in opsgenie.requests] == [
        "/v2/alerts",
        "/v2/alerts/supporthub-incident-77/acknowledge",
        "/v2/alerts/supporthub-incident-77/close",
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_mirroring_the_same_action_twice_sends_one_event(pagerduty):
    first = incident_paging_mirror(incident_id=5, action="trigger", summary="x", channels=["pagerduty"])
    again = incident_paging_mirror(incident_id=5, action="trigger", summary="x", channels=["pagerduty"])
    assert [d.pk for d in first] == [d.pk for d in again]
    _send_all(first + again)
    assert len(pagerduty.requests) == 1


def test_acknowledge_goes_only_to_services_that_were_triggered(pagerduty, opsgenie):
    _send_all(incident_paging_mirror(incident_id=9, action="trigger", summary="x", channels=["opsgenie"]))
    acks = incident_paging_mirror(incident_id=9, action="acknowledge", summary="x")
    assert [d.channel for d in acks] == ["opsgenie"]
    assert incident_paging_mirror(incident_id=10, action="resolve", summary="never paged") == []


def test_mirroring_refuses_unknown_actions_and_channels():
    with pytest.raises(DomainError):
        incident_paging_mirror(incident_id=1, action="snooze", summary="x")
    with pytest.raises(DomainError):
        incident_paging_mirror(incident_id=1, action="trigger", summary="x", channels=["sms"])


def test_sends_and_failures_are_counted_in_the_delivery_metrics(pagerduty):
    from prometheus_client import REGISTRY

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    sent = sample("supporthub_deliveries_sent_total", channel="pagerduty")
    latency = sample("supporthub_delivery_latency_seconds_count", channel="pagerduty")
    retried = sample("supporthub_deliveries_failed_total", channel="pagerduty", final="false")
    dead = sample("supporthub_deliveries_failed_total", channel="pagerduty", final="true")
    pagerduty.answer(Reply(500, "oops"), Reply(400, {"status": "invalid event"}))
    page("pagerduty", "trigger", incident=11)
    page("pagerduty", "trigger", incident=12)
    page("pagerduty", "trigger", incident=13)
    assert sample("supporthub_deliveries_failed_total", channel="pagerduty", final="false") == retried + 1
    assert sample("supporthub_deliveries_failed_total", channel="pagerduty", final="true") == dead + 1
    assert sample("supporthub_deliveries_sent_total", channel="pagerduty") == sent + 1
    assert sample("supporthub_delivery_latency_seconds_count", channel="pagerduty") == latency + 1
