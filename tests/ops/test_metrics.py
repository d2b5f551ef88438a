"""/metrics: access control, domain metrics with correct values, DB-backed gauges."""

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from supporthub import metrics
from tests.ops.conftest import support_request

pytestmark = pytest.mark.django_db


def scrape(client, **extra) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_open_to_loopback_by_default(client):
    assert client.get("/metrics").status_code == 200


def test_metrics_are_refused_to_other_addresses(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_metrics_accept_the_bearer_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer scrape-secret"
        ).status_code
        == 200
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    )


def test_metrics_allow_list_takes_networks(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "not-a-network"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="garbage").status_code == 403


def test_tickets_created_are_counted_by_channel_and_priority(api, client, django_capture_on_commit_callbacks):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):  # three different requests (identical ones fold into one ticket)
            body = support_request(subject=f"Printer {n}")
            assert api.post("/v1/support/request", body, format="json").status_code == 201
        api.post("/v1/support/request", support_request(channel="chat", priority="urgent"), format="json")
    after = scrape(client)

    def delta(**labels):
        name = "supporthub_tickets_created_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(channel="email", priority="normal") == 3
    assert delta(channel="chat", priority="urgent") == 1


def test_a_rolled_back_ticket_is_not_counted(api, client, django_capture_on_commit_callbacks):
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/v1/support/request", support_request(email="not-an-email"), format="json")
    assert response.status_code == 400
    after = scrape(client)
    assert value(after, "supporthub_tickets_created_total", channel="email", priority="normal") == value(
        before, "supporthub_tickets_created_total", channel="email", priority="normal"
    )


def test_the_recording_functions_show_up_with_their_values(client):
    before = scrape(client)
    metrics.record_delivery_sent(channel="sms", latency_seconds=1.5)
    metrics.record_delivery_sent(channel="sms", latency_seconds=0.1)
    metrics.record_delivery_failed(channel="slack", final=False)
    metrics.record_delivery_failed(channel="slack", final=True)
    metrics.record_incident_acknowledged(seconds=95)
    metrics.record_webhook_signature_failure(provider="twilio")
    metrics.record_sla_breach(kind="first_response", priority=4)
    metrics.record_celery_task(task="demo", state="success")
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("supporthub_deliveries_sent_total", channel="sms") == 2
    assert delta("supporthub_delivery_latency_seconds_count", channel="sms") == 2
    assert delta("supporthub_delivery_latency_seconds_sum", channel="sms") == pytest.approx(1.6)
    assert delta("supporthub_delivery_latency_seconds_bucket", channel="sms", le="0.25") == 1
    assert delta("supporthub_deliveries_failed_total", channel="slack", final="false") == 1
    assert delta("supporthub_deliveries_failed_total", channel="slack", final="true") == 1
    assert delta("supporthub_incident_time_to_acknowledge_seconds_count") == 1
    assert delta("supporthub_incident_time_to_acknowledge_seconds_bucket", le="120.0") == 1
    assert delta("supporthub_webhook_signature_failures_total", provider="twilio") == 1
    assert delta("supporthub_sla_breaches_total", kind="first_response", priority="urgent") == 1
    assert delta("supporthub_celery_tasks_total", task="demo", state="success") == 1


def test_recording_never_raises_into_business_code():
    metrics.record_delivery_sent(channel=None, latency_seconds="oops")  # type: ignore[arg-type]


def test_open_sla_breached_tickets_are_read_from_the_database(client):
    from tests.factories import TicketFactory

    TicketFactory(sla_breached=True)
    TicketFactory(sla_breached=True, status="resolved")
    TicketFactory(sla_breached=False)
    assert value(scrape(client), "supporthub_tickets_open_sla_breached") == 1


def test_outbox_and_incident_gauges_are_skipped_until_their_tables_exist(client):
    tables = set(connection.introspection.table_names())
    samples = scrape(client)
    names = {name for name, _ in samples}
    if metrics.DELIVERY_TABLE not in tables:
        assert "supporthub_outbox_backlog" not in names
    if metrics.INCIDENT_TABLE not in tables:
        assert "supporthub_incidents_open" not in names


def test_outbox_gauges_count_deliveries_by_state(client):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.models import Delivery

    for n, (channel, status) in enumerate(
        [("sms", "pending"), ("sms", "sending"), ("email", "pending"), ("slack", "failed"), ("email", "sent")]
    ):
        Delivery.objects.create(
            channel=channel, recipient="x", body="b", status=status, idempotency_key=f"m{n}"
        )
    Delivery.objects.filter(channel="email", status="pending").update(
        created_at=timezone.now() - timedelta(hours=2)
    )

    samples = scrape(client)

    assert value(samples, "supporthub_outbox_backlog", channel="sms") == 2
    assert value(samples, "supporthub_outbox_backlog", channel="email") == 1
    assert ("supporthub_outbox_backlog", (("channel", "voice"),)) in samples  # zero, but present
    assert value(samples, "supporthub_deliveries_dead_letter", channel="slack") == 1
    assert 7190 < value(samples, "supporthub_outbox_oldest_pending_age_seconds") < 7300


def test_incident_gauge_counts_open_incidents(client):
    from escalation.models import Incident

    for status in ["triggered", "triggered", "acknowledged", "resolved"]:
        Incident.objects.create(title=f"{status} incident", status=status)

    samples = scrape(client)

    assert value(samples, "supporthub_incidents_open", status="triggered") == 2
    assert value(samples, "supporthub_incidents_open", status="acknowledged") == 1


def test_django_prometheus_request_metrics_are_still_exposed(client):
    client.get("/health/live")
    names = {name for name, _ in scrape(client)}
    assert "django_http_requests_total_by_method_total" in names


def test_the_database_size_is_exposed_for_the_disk_full_runbook(client):
    assert value(scrape(client), "supporthub_database_size_bytes") > 0
