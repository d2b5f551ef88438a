"""flag_add: SET NX on Redis itself, read and deleted through the cache API as usual;
command and script_run: one connection per thread and process, replaced when it fails."""

import os

import pytest
import redis
from django.core.cache import cache
from redis.commands.core import Script
from redis.exceptions import ResponseError

from supporthub.cache_client import command, flag_add, redis_of, script_run
from tests.services import free_port

KEY = "tests:flag"


@pytest.fixture(autouse=True)
def _no_flag():
    cache.delete(KEY)
    yield
    cache.delete(KEY)


def test_only_the_first_caller_sets_the_flag_until_it_expires_or_is_deleted():
    assert flag_add(KEY, 30) is True
    assert flag_add(KEY, 30) is False
    assert cache.get(KEY) == 1  # the value django-redis itself would have stored
    client = redis_of()
    if client is not None:
        assert 0 < client.ttl(cache.make_key(KEY)) <= 30
    cache.delete(KEY)
    assert flag_add(KEY, 30) is True


def test_without_redis_the_flag_is_a_cache_add(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert redis_of() is None
    assert flag_add(KEY, 30) is True
    assert flag_add(KEY, 30) is False
    assert cache.get(KEY) == 1


# --- command / script_run: this thread's own connection ------------------------------------

ECHO = Script(None, b"return {KEYS[1], ARGV[1]}")  # type: ignore[arg-type]


@pytest.fixture
def client():
    found = redis_of()
    if found is None:
        pytest.skip("needs the Redis cache")
    return found


def test_a_script_is_loaded_again_on_a_server_that_lost_it(client):
    client.script_flush()
    assert script_run(client, ECHO, ["k"], [7]) == [b"k", b"7"]  # NOSCRIPT, then EVAL
    assert client.script_exists(ECHO.sha) == [True]
    assert script_run(client, ECHO, ["k"], [8]) == [b"k", b"8"]


def test_a_connection_the_server_dropped_is_replaced_for_the_next_command(client):
    first = command(client, "CLIENT", "ID")
    assert command(client, "CLIENT", "ID") == first  # the same connection, kept
    client.client_kill_filter(_id=first)
    assert command(client, "PING") in (b"PONG", True)
    assert command(client, "CLIENT", "ID") != first


def test_an_error_answer_leaves_the_connection_usable(client):
    broken = Script(None, b"return redis.call('NOPE')")  # type: ignore[arg-type]
    before = command(client, "CLIENT", "ID")
    with pytest.raises(ResponseError):
        script_run(client, broken, [], [])
    assert command(client, "CLIENT", "ID") == before


def test_a_forked_child_makes_its_own_connection(client):
    parent = command(client, "CLIENT", "ID")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its connection's id, never return into pytest
        try:
            os.write(write, str(command(client, "CLIENT", "ID")).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64) or b"0")
    os.waitpid(pid, 0)
    assert child not in (0, parent)
    assert command(client, "CLIENT", "ID") == parent


def test_an_unreachable_server_raises_redis_connection_error():
    unreachable = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError):
        command(unreachable, "PING")
