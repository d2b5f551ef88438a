"""flag_add: SET NX on Redis itself, read and deleted through the cache API as usual."""

import pytest
from django.core.cache import cache

from supporthub.cache_client import flag_add, redis_of

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
