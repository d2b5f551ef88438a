"""Version tokens in the shared cache, so per-process memos know at once when they are stale.

A process may keep data it read from the database (the on-call phone chain, verified API
keys) as long as the token it was read under is still current: one cache read instead of
several SQL statements. Whatever changes that data replaces the token, and every process
drops its memo on its next read. If the cache is unreachable there is no token: callers
read the database every time.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache

logger = logging.getLogger(__name__)

TIMEOUT = 30 * 24 * 3600


class SharedVersion:
    def __init__(self, key: str) -> None:
        self.key = key

    def current(self) -> str | None:
        """The current token, created if missing; None when the cache cannot be reached."""
        try:
            version = cache.get(self.key)
            if version is None:
                cache.add(self.key, uuid.uuid4().hex, TIMEOUT)
                version = cache.get(self.key)
            return str(version) if version is not None else None
        except Exception:  # the caller must still be answered without the cache
            logger.warning("shared cache unreachable: %s not used; reading the database", self.key)
            return None

    def bump(self) -> None:
        """Make every process's memo stale."""
        try:
            cache.set(self.key, uuid.uuid4().hex, TIMEOUT)
        except Exception:
            logger.error("shared cache unreachable: %s could not be replaced", self.key, exc_info=True)
