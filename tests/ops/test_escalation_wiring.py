"""Escalation feeds the ops metrics and mirrors incidents to PagerDuty / Opsgenie."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from prometheus_client import REGISTRY

from escalation import engine, services
from escalation.models import EscalationPolicy
from notifications.models import Delivery
from notifications.outbox import delivery_send
from tests.factories import ContactFactory
from tests.ops.test_paging_channels import opsgenie, pagerduty  # noqa: F401 - fixtures
from tickets import services as ticket_services
from tickets import sla

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _send_pending() -> None:
    for pk in (
        Delivery.objects.filter(channel__in=["pagerduty", "opsgenie"])
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        delivery_send(delivery_id=pk)


def test_acknowledging_an_incident_observes_the_time_to_acknowledge():
    count = sample("supporthub_incident_time_to_acknowledge_seconds_count")
    total = sample("supporthub_incident_time_to_acknowledge_seconds_sum")
    start = timezone.now() - timedelta(minutes=4)
    with time_machine.travel(start, tick=False):
        incident = services.incident_trigger(reason="api", title="Checkout down")
    services.incident_acknowledge(incident=incident)
    services.incident_acknowledge(incident=incident)  # a second ack is a no-op, not a second sample

    assert sample("supporthub_incident_time_to_acknowledge_seconds_count") == count + 1
    assert 230 < sample("supporthub_incident_time_to_acknowledge_seconds_sum") - total < 260


def test_an_incident_is_mirrored_to_the_configured_paging_services(pagerduty, opsgenie):  # noqa: F811
    incident = services.incident_trigger(reason="api", title="Checkout down")
    _send_pending()
    services.incident_acknowledge(incident=incident)
    _send_pending()
    services.incident_resolve(incident=incident)
    _send_pending()

    events = [request.json() for request in pagerduty.requests]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {f"supporthub-incident-{incident.pk}"}
    assert events[0]["payload"]["summary"] == "Checkout down"
    assert [r.path.split("?")[0].rsplit("/", 1)[-1] for r in opsgenie.requests] == [
        "alerts",
        "acknowledge",
        "close",
    ]


def test_a_repage_after_the_ack_timeout_pages_again_in_the_paging_services(pagerduty, opsgenie):  # noqa: F811
    EscalationPolicy.objects.filter(name="Default").update(ack_timeout_minutes=30)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident = services.incident_trigger(reason="api", title="Checkout down")
        services.incident_acknowledge(incident=incident)
    _send_pending()
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        engine.escalation_tick()
        engine.escalation_tick()  # a second tick sends nothing again
        _send_pending()
        services.incident_acknowledge(incident=incident)
        services.incident_resolve(incident=incident)
        _send_pending()

    first, again = f"supporthub-incident-{incident.pk}", f"supporthub-incident-{incident.pk}-1"
    events = [(e["event_action"], e["dedup_key"]) for e in (r.json() for r in pagerduty.requests)]
    assert events == [
        ("trigger", first),
        ("acknowledge", first),
        ("resolve", first),
        ("trigger", again),
        ("acknowledge", again),
        ("resolve", again),
    ]
    assert [r.path.split("?")[0] for r in opsgenie.requests] == [
        "/v2/alerts",
        f"/v2/alerts/{first}/acknowledge",
        f"/v2/alerts/{first}/close",
        "/v2/alerts",
        f"/v2/alerts/{again}/acknowledge",
        f"/v2/alerts/{again}/close",
    ]
    assert opsgenie.requests[3].json()["alias"] == again


def test_without_paging_credentials_incidents_create_no_paging_deliveries(settings):
    settings.PAGERDUTY_ROUTING_KEY = ""
    settings.OPSGENIE_API_KEY = ""
    incident = services.incident_trigger(reason="api", title="Quiet")
    services.incident_resolve(incident=incident)
    assert not Delivery.objects.filter(channel__in=["pagerduty", "opsgenie"]).exists()


def test_the_sla_sweep_counts_breaches_by_kind_and_priority():
    before = sample("supporthub_sla_breaches_total", kind="first_response", priority="normal")
    contact = ContactFactory()
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        ticket_services.ticket_create(contact=contact, subject="late", channel="email")
    assert sla.sla_breach_sweep() == 2  # first response and resolution, each once
    assert sla.sla_breach_sweep() == 0
    assert sample("supporthub_sla_breaches_total", kind="first_response", priority="normal") == before + 1


def test_schedule_health_gauges_are_served_on_metrics(client):
    body = client.get("/metrics").content.decode()
    assert "supporthub_oncall_schedule_gaps" in body


def test_an_empty_incident_filter_value_is_a_400(api):
    response = api.get("/v1/incidents?status=&reason=")
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"status", "reason"}
    assert api.get("/v1/incidents?status=triggered").status_code == 200
    assert api.get("/v1/incidents").status_code == 200


def test_twilio_signature_failures_are_counted(client, settings):
    settings.TWILIO_AUTH_TOKEN = "our-token"
    before = sample("supporthub_webhook_signature_failures_total", provider="twilio")
    for _ in range(2):
        response = client.post("/webhooks/twilio/sms", {"From": "+14155550123", "Body": "hi"})
        assert response.status_code == 403
    assert sample("supporthub_webhook_signature_failures_total", provider="twilio") == before + 2
