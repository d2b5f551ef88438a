"""API keys in the admin: last use, expiry, listing and creation (revocation has its own
module, tests/supporthub/test_api_key_revocation.py)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from supporthub.models import APIKeyUsage
from supporthub.roles import KeyScope
from supporthub.services import api_key_create

pytestmark = pytest.mark.django_db


class _CommittingClient(APIClient):
    """Runs on-commit work (the last-used write) as a real, committed request would."""

    def request(self, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**kwargs)


def _api(raw: str) -> APIClient:
    client = _CommittingClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def test_using_a_key_records_when_it_was_last_used():
    key, raw = api_key_create(name="website", scope=KeyScope.READ_ONLY)
    with TestCase.captureOnCommitCallbacks(execute=False) as pending:
        APIClient(HTTP_X_API_KEY=raw).get("/v1/tickets")
    assert len(pending) == 1  # the write waits for the commit
    assert not APIKeyUsage.objects.filter(key=key).exists()
    cache.delete(f"apikey-used:{key.pk}")
    assert not APIKeyUsage.objects.filter(key=key).exists()

    assert _api(raw).get("/v1/tickets").status_code == 200

    usage = APIKeyUsage.objects.get(key=key)
    assert timezone.now() - usage.last_used_at < timedelta(seconds=10)


def test_last_used_is_written_at_most_once_a_minute():
    key, raw = api_key_create(name="busy", scope=KeyScope.READ_ONLY)
    client = _api(raw)
    client.get("/v1/tickets")
    first = APIKeyUsage.objects.get(key=key).last_used_at

    for _ in range(3):
        client.get("/v1/tickets")
    assert APIKeyUsage.objects.get(key=key).last_used_at == first

    cache.delete(f"apikey-used:{key.pk}")  # the minute has passed (Redis keeps real time)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        client.get("/v1/tickets")
    assert APIKeyUsage.objects.get(key=key).last_used_at > first


def test_an_expired_key_is_refused():
    _, raw = APIKey.objects.create_key(name="temp", expiry_date=timezone.now() - timedelta(minutes=1))
    response = _api(raw).get("/v1/tickets")
    assert response.status_code in (401, 403)
    assert "expired" in response.json()["detail"]


def test_the_admin_lists_keys_with_last_use_and_filters_by_state(admin_client):
    _, raw = api_key_create(name="used-key", scope=KeyScope.READ_ONLY)
    _api(raw).get("/v1/tickets")
    APIKey.objects.create_key(name="idle-key")
    revoked, _ = APIKey.objects.create_key(name="gone-key")
    revoked.revoked = True
    revoked.save()

    page = admin_client.get("/admin/rest_framework_api_key/apikey/").content.decode()
    assert "Last used" in page
    assert "never" in page
    active = admin_client.get("/admin/rest_framework_api_key/apikey/?state=active").content.decode()
    assert "used-key" in active and "gone-key" not in active
    assert (
        "gone-key" in admin_client.get("/admin/rest_framework_api_key/apikey/?state=revoked").content.decode()
    )
    assert (
        "used-key"
        not in admin_client.get("/admin/rest_framework_api_key/apikey/?state=expired").content.decode()
    )


def test_creating_a_key_in_the_admin_shows_it_once(admin_client):
    page = admin_client.post(
        "/admin/rest_framework_api_key/apikey/add/",
        {
            "name": "partner",
            "expiry_date_0": "",
            "expiry_date_1": "",
            "access-TOTAL_FORMS": "1",
            "access-INITIAL_FORMS": "0",
            "access-0-scope": "intake-only",
        },
        follow=True,
    )
    text = page.content.decode()
    assert "The API key for partner is:" in text
    raw = re.search(r"The API key for partner is: ([A-Za-z0-9]+\.[A-Za-z0-9]+)", text).group(1)
    assert APIKey.objects.is_valid(raw)
    assert APIKey.objects.get(name="partner").access.scope == "intake-only"


def test_last_use_still_works_without_the_cache(cache_down):
    key, raw = api_key_create(name="no-cache", scope=KeyScope.READ_ONLY)
    client = _api(raw)
    assert client.get("/v1/tickets").status_code == 200
    first = APIKeyUsage.objects.get(key=key).last_used_at
    assert client.get("/v1/tickets").status_code == 200
    assert APIKeyUsage.objects.get(key=key).last_used_at == first


def test_a_use_recorded_by_another_process_quiets_this_one_until_the_window_ends(monkeypatch):
    key, raw = api_key_create(name="shared", scope=KeyScope.READ_ONLY)
    earlier = timezone.now() - timedelta(seconds=20)
    cache.set(f"apikey-used:{key.pk}", earlier.timestamp(), timeout=60)  # another worker's record
    asked: list[str] = []
    real_add = cache.add
    monkeypatch.setattr(cache, "add", lambda key, *a, **kw: asked.append(key) or real_add(key, *a, **kw))
    client = _api(raw)
    for _ in range(3):
        assert client.get("/v1/tickets").status_code == 200
    assert asked == [f"apikey-used:{key.pk}"]  # once, not once per request
    assert not APIKeyUsage.objects.filter(key=key).exists()  # the other worker writes it

    with time_machine.travel(earlier + timedelta(seconds=61)):  # its window has ended
        cache.delete(f"apikey-used:{key.pk}")
        assert client.get("/v1/tickets").status_code == 200
    assert len(asked) == 2
    assert APIKeyUsage.objects.filter(key=key).exists()
