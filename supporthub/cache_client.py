"""The Redis client behind a django-redis cache, for the few reads and writes that need
Redis itself (scripts, lists, flags) rather than the cache API.

The commands on a web request's path (the rate limits' script, the dispatch script, the
booking flag) go through `command`/`script_run`: one connection of this thread's own, to
the cache's server, with the cache pool's settings. redis-py's client method spends ~45 of
its ~65 µs per command in its command, retry, pool and event layers (redis-py 8.1), and an
intake makes two such calls (perf, issue 8).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from redis.commands.core import Script
from redis.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

_own = threading.local()


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
    return command(client, "SET", cache.make_key(key), 1, "NX", "EX", seconds) is not None


def script_run(client: Any, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """`script`'s reply for `keys` and `args` (EVALSHA; EVAL when the server lacks it)."""
    try:
        return command(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:  # a restarted or flushed server: EVAL also caches it again
        return command(client, "EVAL", script.script, len(keys), *keys, *args)


def command(client: Any, *args: Any) -> Any:
    """Run one Redis command on this thread's own connection to `client`'s server.

    Raises redis-py's errors. A connection that failed is dropped, and a command that met a
    dropped connection (the server restarted since) is sent once more on a new one, as
    redis-py's default retry does; a command that timed out is not.
    """
    conn = _connection(client.connection_pool)
    try:
        return _send(conn, args)
    except RedisConnectionError:
        return _send(conn, args)  # _send disconnected it: this reconnects


def _send(conn: AbstractConnection, args: Sequence[Any]) -> Any:
    try:
        conn.send_command(*args)
        return conn.read_response()
    except ResponseError:
        raise  # the server's answer to this command; the connection is fine
    except BaseException:
        conn.disconnect()  # nothing half-read may be left for the next command
        raise


def _connection(pool: ConnectionPool) -> AbstractConnection:
    """This thread's connection with `pool`'s settings, made anew in a forked child."""
    pid = os.getpid()
    if getattr(_own, "pid", None) != pid:
        _own.pid, _own.connections = pid, weakref.WeakKeyDictionary()
    conn = _own.connections.get(pool)
    if conn is None:
        conn = _own.connections[pool] = pool.make_connection()
    return conn
