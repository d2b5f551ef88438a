"""The Redis client behind a django-redis cache, for the few reads and writes that need
Redis itself (pipelines, lists, pub/sub) rather than the cache API."""

from __future__ import annotations

from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches


def redis_of(alias: str = DEFAULT_CACHE_ALIAS) -> Any | None:
    """The Redis client of cache `alias`, or None when that cache is not django-redis (the
    file cache of `make run`)."""
    client = getattr(caches[alias], "client", None)
    return client.get_client(write=True) if client is not None and hasattr(client, "get_client") else None


def flag_add(key: str, seconds: int) -> bool:
    """Set the default cache's `key` for `seconds` unless it is set; whether this call set it.

    On Redis one SET NX EX on the client itself: django-redis's `cache.add` does the same
    through layers that cost a twentieth of the voice webhook's CPU (perf, issue 8). The
    value is the integer 1 as django-redis stores it, so the cache API reads and deletes
    the flag as usual.
    """
    client = redis_of()
    if client is None:
        return cache.add(key, 1, timeout=seconds)
    return bool(client.set(cache.make_key(key), 1, nx=True, ex=seconds))
