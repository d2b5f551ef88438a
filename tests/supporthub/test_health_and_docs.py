import pytest

from tests.services import broker

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/health"])
def test_health_reports_app_version_database_and_broker(client, settings, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["app"] == settings.APP_NAME
    assert body["version"] == settings.APP_VERSION
    assert body["database"] == "ok"
    assert body["broker"] in {"ok", "down", "disabled"}
    assert response["X-Request-ID"]


def test_health_says_disabled_when_tasks_run_in_process(client):
    from supporthub.celery import app

    app.conf.task_always_eager = True
    try:
        assert client.get("/health").json()["broker"] == "disabled"
    finally:
        app.conf.task_always_eager = False


def test_health_reports_a_dead_broker_as_down_but_stays_200(client):
    with broker("redis://127.0.0.1:1/0"):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"


def test_schema_describes_every_endpoint_and_its_errors(api):
    response = api.get("/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/v1/support/request",
        "/v1/tickets",
        "/v1/tickets/{id}",
        "/v1/messages",
        "/v1/messages/{id}",
    ]:
        assert path in paths
    intake = paths["/v1/support/request"]["post"]["responses"]
    assert {"201", "400", "401", "413"} <= set(intake)
    assert "404" in paths["/v1/tickets/{id}"]["patch"]["responses"]
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "X-API-Key"


def test_swagger_ui_is_served_locally(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content


def test_unknown_paths_get_a_json_404(client):
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such path: /v1/nothing-here", "code": "not_found"}


def test_incoming_request_id_is_echoed_when_safe(client):
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    unsafe = client.get("/health", HTTP_X_REQUEST_ID="evil\nheader")["X-Request-ID"]
    assert unsafe != "evil\nheader" and len(unsafe) == 32


def test_metrics_endpoint_serves_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests" in response.content


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"SupportHub" in response.content


def test_admin_shows_tickets_to_staff(admin_client):
    from tests.factories import TicketFactory

    ticket = TicketFactory(subject="Visible in admin")
    assert b"Visible in admin" in admin_client.get("/admin/tickets/ticket/").content
    assert admin_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").status_code == 200
