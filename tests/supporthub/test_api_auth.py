import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from supporthub.roles import AGENT, KeyScope
from supporthub.services import KEY_RECHECK_SECONDS
from tests.conftest import in_role
from tests.factories import UserFactory, make_api_key

pytestmark = pytest.mark.django_db


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


def test_no_key_is_a_401_json_answer(anon):
    response = anon.get("/v1/tickets")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "X-API-Key" in response["WWW-Authenticate"]


@pytest.mark.parametrize("key", ["nonsense", "abc.def", "x" * 300, "é"])
def test_a_wrong_key_is_a_401(key):
    response = client_with(key).get("/v1/tickets")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_stored_key_works():
    raw = make_api_key("website", scope=KeyScope.READ_ONLY)
    assert client_with(raw).get("/v1/tickets").status_code == 200


def _key_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/v1/tickets/0").status_code == 404  # one key check, no other query
    return sum("rest_framework_api_key_apikey" in q["sql"] for q in queries.captured_queries)


class _Clock:
    """supporthub.services' view of time.monotonic, moved on by the test only."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_a_verified_key_is_read_from_the_database_at_most_once_per_recheck_interval(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr("supporthub.services.time", clock)
    raw = make_api_key("busy")
    client = client_with(raw)
    assert _key_queries(client) == 1
    clock.now += KEY_RECHECK_SECONDS - 0.01
    assert _key_queries(client) == 0
    clock.now += 0.01
    assert _key_queries(client) == 1


def test_a_client_for_counting_queries_keeps_its_key_checked_however_slow_the_test(counted_api, monkeypatch):
    clock = _Clock()
    clock.now = time.monotonic() + 10 * KEY_RECHECK_SECONDS  # a loaded machine, mid-test
    monkeypatch.setattr("supporthub.services.time", clock)
    assert _key_queries(counted_api) == 0


def test_an_unknown_key_is_looked_up_every_time():
    client = client_with("nopenope.nonsense")
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/v1/tickets").status_code == 401
        assert len(queries) == 1


def test_an_expired_key_is_refused():
    _, raw = APIKey.objects.create_key(name="old", expiry_date=timezone.now() - timedelta(minutes=1))
    response = client_with(raw).get("/v1/tickets")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_the_environment_api_key_is_one_more_valid_key(settings):
    settings.API_KEY = "env-key-0123456789"
    assert client_with("env-key-0123456789").get("/v1/tickets").status_code == 200
    assert client_with("env-key-0123456789x").get("/v1/tickets").status_code == 401


def test_staff_session_is_accepted_and_non_staff_is_forbidden(client):
    client.force_login(in_role(UserFactory(username="staffer"), AGENT))
    assert client.get("/v1/tickets").status_code == 200
    client.force_login(UserFactory(username="customer", is_staff=False))
    response = client.get("/v1/tickets")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_create_api_key_command_prints_a_working_key(capsys):
    from django.core.management import call_command

    call_command("create_api_key", "integration")
    raw = capsys.readouterr().out.strip()
    assert APIKey.objects.get(name="integration").hashed_key != raw
    assert client_with(raw).get("/v1/tickets").status_code == 200


def test_create_api_key_command_sets_the_scope(capsys):
    from django.core.management import call_command

    call_command("create_api_key", "website form", "--scope", "intake-only")
    raw = capsys.readouterr().out.strip()
    assert APIKey.objects.get(name="website form").access.scope == "intake-only"
    assert client_with(raw).get("/v1/tickets").status_code == 403
