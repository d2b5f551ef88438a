"""Version tokens in the shared cache, so per-process memos know at once when they are stale.

A process may keep data it read from the database (the on-call phone chain, verified API
keys) as long as the token it was read under is still current: one cache read instead of
several SQL statements. Whatever changes that data replaces the token, and every process
drops its memo on its next read. If the cache is unreachable there is no token: callers
read the database every time.

Reading a token from Redis was itself a round trip on every API request, a fifth of a
ticket detail's Python time (perf, issue 8). So each process keeps a mirror of the tokens
it has read, and a listener thread subscribed to a Redis channel drops a mirrored token as
soon as any process replaces it (`bump` publishes the key). The mirror is trusted only
while the listener is subscribed and has heard from Redis within STALE_AFTER seconds (it
pings every PING_EVERY); it is emptied whenever the listener (re)subscribes. Otherwise
tokens are read from the cache, as before.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

TIMEOUT = 30 * 24 * 3600
PING_EVERY = 1.0
STALE_AFTER = 3.0
RETRY_AFTER = 1.0


class SharedVersion:
    def __init__(self, key: str) -> None:
        self.key = key

    def current(self) -> str | None:
        """The current token, created if missing; None when the cache cannot be reached."""
        mirror = _mirror()
        if mirror is not None:
            token = mirror.get(self.key)
            if token is not None:
                return token
            generation = mirror.generation
        token = self._read()
        if mirror is not None and token is not None:
            mirror.put(self.key, token, generation)
        return token

    def bump(self) -> None:
        """Make every process's memo stale."""
        token = uuid.uuid4().hex
        mirror = _mirror()
        try:
            if mirror is None:
                cache.set(self.key, token, TIMEOUT)
            else:
                mirror.replace(self.key, token)
        except Exception:
            logger.error("shared cache unreachable: %s could not be replaced", self.key, exc_info=True)

    def _read(self) -> str | None:
        try:
            version = cache.get(self.key)
            if version is None:
                cache.add(self.key, uuid.uuid4().hex, TIMEOUT)
                version = cache.get(self.key)
            return str(version) if version is not None else None
        except Exception:  # the caller must still be answered without the cache
            logger.warning("shared cache unreachable: %s not used; reading the database", self.key)
            return None


class Mirror:
    """This process's copy of the tokens it has read from Redis `client`, kept current by a
    daemon thread subscribed to `channel`."""

    def __init__(self, client: Any, channel: str) -> None:
        self._client = client
        self.channel = channel
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self.generation = 0  # moves on every drop: a token read before a drop is not kept
        self._heard = -math.inf  # when Redis last answered the subscribed connection
        self.subscriptions = 0
        threading.Thread(target=self._listen, name="shared-version-listener", daemon=True).start()

    @property
    def live(self) -> bool:
        return time.monotonic() - self._heard < STALE_AFTER

    def get(self, key: str) -> str | None:
        return self._tokens.get(key) if self.live else None

    def put(self, key: str, token: str, generation: int) -> None:
        """Keep `token`, read while the mirror was at `generation`, unless a drop came since."""
        with self._lock:
            if generation == self.generation:
                self._tokens[key] = token

    def drop(self, key: str | None = None) -> None:
        with self._lock:
            self.generation += 1
            if key is None:
                self._tokens.clear()
            else:
                self._tokens.pop(key, None)

    def replace(self, key: str, token: str) -> None:
        """Store `token` under the cache key `key` and announce it to every process's
        listener, in one MULTI/EXEC: a token replaced but not announced would leave the
        other processes' mirrors stale."""
        pipeline = self._client.pipeline(transaction=True)
        pipeline.set(cache.make_key(key), cache.client.encode(token), ex=TIMEOUT)  # type: ignore[attr-defined]
        pipeline.publish(self.channel, key)
        pipeline.execute()
        self.drop(key)

    def _listen(self) -> None:
        warned = -1  # the subscription whose loss was last logged (not every failed retry)
        while True:
            try:
                self._follow()
            except Exception as exc:
                if warned != self.subscriptions:
                    logger.warning("shared version listener lost Redis (%s); tokens read from the cache", exc)
                    warned = self.subscriptions
            self._heard = -math.inf
            self.drop()
            time.sleep(RETRY_AFTER)

    def _follow(self) -> None:
        pubsub = self._client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            subscribed = False
            heard = pinged = time.monotonic()
            while True:
                now = time.monotonic()
                if now - pinged >= PING_EVERY:
                    if now - heard > STALE_AFTER:
                        raise ConnectionError("Redis stopped answering the subscribed connection")
                    pubsub.ping()
                    pinged = now
                message = pubsub.get_message(timeout=PING_EVERY)
                if message is None:
                    continue
                heard = time.monotonic()
                if message["type"] == "subscribe":
                    self.drop()  # tokens read while unsubscribed may have missed a bump
                    self.subscriptions += 1
                    subscribed = True
                elif message["type"] == "message":
                    data = message["data"]
                    self.drop(data.decode() if isinstance(data, bytes) else data)
                if subscribed:
                    self._heard = heard
        finally:
            pubsub.close()


_mirrors: dict[tuple[int, str], Mirror | None] = {}


def _mirror() -> Mirror | None:
    """This process's mirror for the configured cache (None unless the cache is Redis)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    location = getattr(backend, "_server", None)
    key = (os.getpid(), str(location))
    try:
        return _mirrors[key]
    except KeyError:
        pass
    mirror = None
    client = get_redis_connection() if location is not None else None
    if client is not None:
        db = client.connection_pool.connection_kwargs.get("db", 0)
        mirror = Mirror(client, f"{db}:{backend.make_key('shared-versions')}")
    return _mirrors.setdefault(key, mirror)
