from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from supporthub.services import KEYS_VERSION
from tests.factories import UserFactory

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


def test_a_stored_key_works_and_a_revoked_one_stops_at_once():
    api_key, raw = APIKey.objects.create_key(name="website")
    client = client_with(raw)
    assert client.get("/v1/tickets").status_code == 200
    api_key.revoked = True
    api_key.save()
    assert client.get("/v1/tickets").status_code == 401


def _key_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/v1/tickets/0").status_code == 404  # one key check, no other query
    return sum("rest_framework_api_key_apikey" in q["sql"] for q in queries.captured_queries)


def test_a_verified_key_is_kept_per_process_until_any_process_changes_a_key():
    """A memoised key costs no query; a change made by another process (which replaces the
    shared version token, as its post_save does) makes every process read the key again."""
    api_key, raw = APIKey.objects.create_key(name="busy")
    client = client_with(raw)
    assert _key_queries(client) == 1
    assert _key_queries(client) == 0

    # Another process revokes the key: its row changes and it replaces the shared token;
    # this process's memo is untouched.
    APIKey.objects.filter(pk=api_key.pk).update(revoked=True)
    KEYS_VERSION.bump()
    assert client.get("/v1/tickets").status_code == 401


def test_keys_are_checked_against_the_database_when_the_cache_is_down(cache_down):
    api_key, raw = APIKey.objects.create_key(name="no-cache")
    client = client_with(raw)
    assert _key_queries(client) == 1
    assert _key_queries(client) == 1  # no token, no memo
    APIKey.objects.filter(pk=api_key.pk).update(revoked=True)
    assert client.get("/v1/tickets").status_code == 401


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
    client.force_login(UserFactory(username="staffer"))
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
