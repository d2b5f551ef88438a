"""SharedVersion's per-process mirror: tokens served without Redis while a listener keeps
them current, and read from Redis again whenever the listener cannot vouch for them."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.cache import cache

from supporthub import versioning
from supporthub.versioning import Mirror, SharedVersion
from tests.services import redis_url

pytestmark = pytest.mark.django_db


def wait_for(condition: Callable[[], Any], seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.02)
    raise AssertionError(f"not true within {seconds}s: {condition}")


@pytest.fixture
def live_mirror() -> Mirror:
    redis_url()
    mirror = versioning._mirror()
    assert mirror is not None, "the tests' cache is Redis: every process gets a mirror"
    wait_for(lambda: mirror.live)
    return mirror


@pytest.fixture
def version() -> SharedVersion:
    return SharedVersion(f"test-version:{uuid.uuid4().hex}")


@pytest.fixture
def redis_gets(monkeypatch) -> list[str]:
    """Every key this process reads from the cache (a spy: the reads still happen)."""
    reads: list[str] = []
    real_get = cache.get

    def get(key: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", get)
    return reads


def replaced_by_another_process(version: SharedVersion, mirror: Mirror, *, announce: bool) -> str:
    """What another process's bump does: a new token in Redis, then (when `announce`) the
    key published on the mirrors' channel."""
    token = uuid.uuid4().hex
    cache.set(version.key, token)
    if announce:
        redis.Redis.from_url(redis_url()).publish(mirror.channel, version.key)
    return token


def test_a_token_once_read_costs_no_cache_read(live_mirror, version, redis_gets):
    first = version.current()
    assert first is not None
    assert redis_gets.count(version.key) >= 1
    redis_gets.clear()
    assert [version.current() for _ in range(50)] == [first] * 50
    assert redis_gets == []


def test_another_process_replacing_the_token_reaches_this_process_at_once(live_mirror, version):
    old = version.current()
    # Written without the announcement, the new token is not seen: the mirror answers.
    unannounced = replaced_by_another_process(version, live_mirror, announce=False)
    assert version.current() == old
    announced = replaced_by_another_process(version, live_mirror, announce=True)
    assert announced != unannounced
    wait_for(lambda: version.current() == announced, seconds=1.0)


def test_a_bump_in_this_process_is_seen_by_it_before_any_message(live_mirror, version):
    old = version.current()
    version.bump()
    new = version.current()
    assert new not in (None, old)
    assert cache.get(version.key) == new


def test_a_bump_is_announced_to_every_other_processs_listener(live_mirror, version):
    """Another process's mirror: a second listener on the same channel."""
    other = Mirror(live_mirror._client, live_mirror.channel)
    wait_for(lambda: other.live)
    old = version.current()
    other.put(version.key, old, other.generation)
    assert other.get(version.key) == old
    version.bump()
    wait_for(lambda: other.get(version.key) is None, seconds=1.0)
    assert version.current() not in (None, old)


def test_a_token_replaced_while_the_listener_was_cut_off_is_read_again(live_mirror, version):
    """A bump announced while the listener is disconnected reaches no one; the listener
    empties the mirror when it subscribes again, so the new token is read from Redis."""
    old = version.current()
    subscriptions = live_mirror.subscriptions
    redis.Redis.from_url(redis_url()).client_kill_filter(_type="pubsub")
    new = replaced_by_another_process(version, live_mirror, announce=True)
    wait_for(lambda: live_mirror.subscriptions > subscriptions and live_mirror.live)
    assert version.current() == new != old


def test_a_mirror_that_stops_hearing_from_redis_is_not_trusted(live_mirror, version):
    """Redis answers nobody for a while (CLIENT PAUSE): after STALE_AFTER the mirror is not
    used, so a token replaced meanwhile is read from Redis once it answers again."""
    version.current()
    new = replaced_by_another_process(version, live_mirror, announce=False)
    pause_ms = int((versioning.STALE_AFTER + 1.0) * 1000)
    redis.Redis.from_url(redis_url()).execute_command("CLIENT", "PAUSE", pause_ms, "ALL")
    wait_for(lambda: not live_mirror.live, seconds=versioning.STALE_AFTER + 1)
    assert version.current() == new  # waits for the pause to end, then reads Redis


def test_without_redis_there_is_no_token(cache_down, version):
    assert versioning._mirror() is not None  # a listener that cannot connect
    assert version.current() is None
