"""Rate limits: /v1 writes per key and per IP, webhooks and admin login per IP."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from supporthub.ratelimits import client_ip
from tests.factories import make_api_key
from tests.ops.conftest import support_request, unique_ip
from tests.services import require_service

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


def test_admin_login_limit_also_counts_per_username_across_addresses(rate_limits_on, client, agent):
    rate_limits_on.RATELIMIT_ADMIN_LOGIN = "2/5m"
    for _ in range(2):
        client.post("/admin/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=unique_ip())
    page = client.post("/admin/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=unique_ip())
    assert page.status_code == 429


def test_a_cache_outage_lets_requests_through(rate_limits_on):
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


def test_budgets_counted_in_one_round_trip_are_django_ratelimits_own(rate_limits_on, rf):
    """The pipelined count uses the library's keys and windows: get_usage reads the same
    counts, and counting through get_usage continues from them."""
    from django_ratelimit.core import get_usage

    from supporthub.ratelimits import _usages

    request = rf.post("/v1/support/request", REMOTE_ADDR=unique_ip())
    checks = [("api-write-ip", "ip", "5/m"), ("api-write-key", lambda group, request: "key:abc", "3/m")]

    def library(increment: bool) -> list[int]:
        return [
            get_usage(request, group=g, key=k, rate=r, method=get_usage.ALL, increment=increment)["count"]
            for g, k, r in checks
        ]

    assert [u["count"] for u in _usages(request, checks, increment=True)] == [1, 1]
    assert library(increment=False) == [1, 1]
    assert library(increment=True) == [2, 2]
    usages = _usages(request, checks, increment=True)
    assert [(u["count"], u["should_limit"]) for u in usages] == [(3, False), (3, False)]
    usages = _usages(request, checks, increment=True)
    assert [(u["count"], u["should_limit"]) for u in usages] == [(4, False), (4, True)]
    assert all(0 <= u["time_left"] <= 60 for u in usages)
    assert [u["count"] for u in _usages(request, checks, increment=False)] == [4, 4]


def test_budgets_are_counted_by_one_script_that_redis_may_forget(rate_limits_on, rf):
    """One EVALSHA per request, whatever the number of budgets; after SCRIPT FLUSH (a Redis
    restart or failover) the script is loaded again and counting goes on. The counters
    expire as django-ratelimit's do, and reading a budget nobody used gives 0."""
    from django.conf import settings
    from django.core.cache import caches
    from django_ratelimit import core

    from supporthub.cache_client import redis_of
    from supporthub.ratelimits import _usages

    client = redis_of(settings.RATELIMIT_USE_CACHE)
    if client is None:  # the limits count on a local cache: no script to flush
        require_service("Redis", "the rate limits use no Redis cache")
    request = rf.post("/v1/support/request", REMOTE_ADDR=unique_ip())
    checks = [("api-write-ip", "ip", "5/m"), ("api-write-key", lambda group, request: "key:xyz", "3/h")]
    assert [u["count"] for u in _usages(request, checks, increment=False)] == [0, 0]
    client.script_flush()
    assert [u["count"] for u in _usages(request, checks, increment=True)] == [1, 1]
    before = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    assert [u["count"] for u in _usages(request, checks, increment=True)] == [2, 2]
    assert client.info("commandstats")["cmdstat_evalsha"]["calls"] == before + 1
    window = core._get_window("key:xyz", 3600)
    key = caches[settings.RATELIMIT_USE_CACHE].make_key(
        core._make_cache_key("api-write-key", window, "3/h", "key:xyz", core.get_usage.ALL)
    )
    assert 3600 < client.ttl(key) <= 3600 + core.EXPIRATION_FUDGE


@pytest.mark.parametrize(
    ("address", "masks"),
    [("203.0.113.77", {}), ("203.0.113.77", {"RATELIMIT_IPV4_MASK": 24}),
     ("2001:db8::1234", {}), ("2001:db8::1234", {"RATELIMIT_IPV6_MASK": 48})],
)  # fmt: skip
def test_remembered_budget_keys_are_the_librarys(rf, settings, address, masks):
    """The per-process caches give django-ratelimit's own answers: the masked address of
    the "ip" key (under each mask setting) and the hashed name of a budget."""
    from django_ratelimit import core

    from supporthub.ratelimits import _budget_name, _simple_key, _split_rate

    for name, value in masks.items():
        setattr(settings, name, value)
    request = rf.post("/v1/support/request", REMOTE_ADDR=address)
    assert _simple_key("ip", request) == core._get_ip(request)
    assert _simple_key("ip", request) == _simple_key("ip", request)
    if masks:
        assert _simple_key("ip", request) != address
    assert _split_rate("10/5m") == core._split_rate("10/5m") == (10, 300)
    window = core._get_window(address, 300)
    assert _budget_name("g", window, "10/5m", address) == core._make_cache_key(
        "g", window, "10/5m", address, core.get_usage.ALL
    )
    assert _budget_name("g", window + 300, "10/5m", address) != _budget_name("g", window, "10/5m", address)
