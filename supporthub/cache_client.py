"""The Redis client behind a django-redis cache, for the few reads and writes that need
Redis itself (pipelines, lists, pub/sub) rather than the cache API."""

from __future__ import annotations

from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches


def redis_of(alias: str = DEFAULT_CACHE_ALIAS) -> Any | None:
    """The Redis client of cache `alias`, or None when that cache is not django-redis (the
    file cache of `make run`)."""
    client = getattr(caches[alias], "client", None)
    return client.get_client(write=True) if client is not None and hasattr(client, "get_client") else None
