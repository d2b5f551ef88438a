"""Rate limits: /v1 writes per key and per IP, webhooks and admin login per IP."""

import random

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from supporthub.ratelimits import client_ip
from tests.factories import make_api_key
from tests.ops.conftest import support_request, unique_ip

pytestmark = pytest.mark.django_db


def _client(key: str, ip: str) -> APIClient:
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_X_API_KEY=key)
    return client


def test_api_writes_over_the_key_limit_get_429_json_with_retry_after(rate_limits_on):
    rate_limits_on.RATELIMIT_API_KEY_WRITES = "3/m"
    client = _client(make_api_key(), unique_ip())
    statuses = [
        client.post("/v1/support/request", support_request(), format="json").status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 201]

    response = client.post("/v1/support/request", support_request(), format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "throttled" in response.json()["detail"].lower()
    assert 1 <= int(response["Retry-After"]) <= 60


def test_each_api_key_has_its_own_budget(rate_limits_on):
    rate_limits_on.RATELIMIT_API_KEY_WRITES = "1/m"
    ip = unique_ip()
    first, second = _client(make_api_key("a"), ip), _client(make_api_key("b"), ip)

    assert first.post("/v1/support/request", support_request(), format="json").status_code == 201
    assert first.post("/v1/support/request", support_request(), format="json").status_code == 429
    assert second.post("/v1/support/request", support_request(), format="json").status_code == 201


def test_the_ip_limit_covers_every_key_from_that_address(rate_limits_on):
    rate_limits_on.RATELIMIT_API_IP_WRITES = "2/m"
    ip = unique_ip()
    codes = [
        _client(make_api_key(f"k{n}"), ip)
        .post("/v1/support/request", support_request(), format="json")
        .status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]


def test_reads_are_not_limited(rate_limits_on):
    rate_limits_on.RATELIMIT_API_KEY_WRITES = "1/m"
    rate_limits_on.RATELIMIT_API_IP_WRITES = "1/m"
    client = _client(make_api_key(), unique_ip())
    assert all(client.get("/v1/tickets").status_code == 200 for _ in range(4))


def test_limits_can_be_switched_off_with_an_empty_rate(rate_limits_on):
    rate_limits_on.RATELIMIT_API_KEY_WRITES = ""
    rate_limits_on.RATELIMIT_API_IP_WRITES = ""
    client = _client(make_api_key(), unique_ip())
    codes = {
        client.post("/v1/support/request", support_request(), format="json").status_code for _ in range(4)
    }
    assert codes == {201}


def test_webhooks_are_limited_per_ip_with_json_and_retry_after(rate_limits_on, client):
    rate_limits_on.RATELIMIT_WEBHOOKS_IP = "2/m"
    ip = unique_ip()
    for _ in range(2):
        assert client.post("/webhooks/twilio/sms", {"Body": "hi"}, REMOTE_ADDR=ip).status_code != 429

    response = client.post("/webhooks/twilio/sms", {"Body": "hi"}, REMOTE_ADDR=ip)

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1
    # Another caller is not affected.
    assert client.post("/webhooks/twilio/sms", {"Body": "hi"}, REMOTE_ADDR=unique_ip()).status_code != 429


def test_admin_login_says_clearly_that_attempts_are_paused(rate_limits_on, client, agent):
    rate_limits_on.RATELIMIT_ADMIN_LOGIN = "3/5m"
    ip = unique_ip()
    for _ in range(3):
        page = client.post("/admin/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ip)
        assert page.status_code == 200  # the normal form with its "incorrect password" error

    page = client.post("/admin/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ip)

    assert page.status_code == 429
    text = page.content.decode()
    assert "Too many login attempts" in text
    assert "Try again in about" in text
    assert int(page["Retry-After"]) >= 1


def test_a_hammered_username_is_slowed_per_address_not_locked_everywhere(rate_limits_on, client, agent):
    rate_limits_on.RATELIMIT_ADMIN_LOGIN = "2/5m"
    rate_limits_on.RATELIMIT_ADMIN_LOGIN_SLOWED = "1/m"
    for name in ("ALICE ", " Alice"):  # one username however it is cased or padded
        client.post("/admin/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR=unique_ip())

    ip = unique_ip()
    first = client.post("/admin/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ip)
    second = client.post("/admin/login/", {"username": "alIce", "password": "wrong"}, REMOTE_ADDR=ip)

    assert first.status_code == 200  # one attempt per address and slowed window
    assert second.status_code == 429
    assert int(second["Retry-After"]) >= 1


def test_an_attacker_hammering_root_does_not_lock_out_the_real_root(rate_limits_on, client, admin_user):
    rate_limits_on.RATELIMIT_ADMIN_LOGIN = "10/5m"
    attacker = unique_ip()
    codes = [
        client.post(
            "/admin/login/", {"username": "ROOT ", "password": "guess"}, REMOTE_ADDR=attacker
        ).status_code
        for _ in range(12)
    ]
    assert codes == [200] * 10 + [429] * 2  # the attacker's address is paused

    page = client.post(
        "/admin/login/",
        {"username": "root", "password": "correct horse battery staple"},
        REMOTE_ADDR=unique_ip(),
    )

    assert page.status_code == 302


def test_a_cache_outage_lets_requests_through_and_says_so(rate_limits_on, caplog):
    rate_limits_on.RATELIMIT_API_KEY_WRITES = "1/m"
    dead_redis = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    key = make_api_key()
    with override_settings(CACHES=dead_redis):
        client = _client(key, unique_ip())
        codes = [
            client.post("/v1/support/request", support_request(), format="json").status_code for _ in range(2)
        ]
    assert codes == [201, 201]
    warnings = [r.getMessage() for r in caplog.records if r.name == "supporthub.ratelimits"]
    assert any("rate limit cache unavailable" in warning for warning in warnings)


def test_the_addresses_of_one_ipv6_network_share_its_budget(rate_limits_on):
    rate_limits_on.RATELIMIT_API_IP_WRITES = "2/m"
    network = f"2001:db8:{random.randint(0, 0xFFFF):x}:{random.randint(0, 0xFFFF):x}"
    codes = [
        _client(make_api_key(f"k{n}"), f"{network}::{n + 1}")
        .post("/v1/support/request", support_request(), format="json")
        .status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    rate_limits_on.RATELIMIT_IPV6_MASK = 128  # each address counted on its own
    other = _client(make_api_key("k3"), f"{network}::4")
    assert other.post("/v1/support/request", support_request(), format="json").status_code == 201


def test_client_ip_trusts_only_the_configured_number_of_proxies(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer hops than proxies: fall back to the peer
    assert client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-ip")) == "10.0.0.5"


def test_successful_admin_logins_do_not_count(rate_limits_on, client, agent):
    rate_limits_on.RATELIMIT_ADMIN_LOGIN = "1/5m"
    ip = unique_ip()
    for _ in range(3):
        page = client.post(
            "/admin/login/", {"username": "alice", "password": "correct horse battery staple"}, REMOTE_ADDR=ip
        )
        assert page.status_code == 302
        client.logout()
