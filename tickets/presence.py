"""Who else has a ticket open: heartbeats kept in the shared cache.

Each ticket has one cache entry, {user id: [name, state, time of the last beat]}. A viewer's
page beats every HEARTBEAT_SECONDS; an entry older than TTL_SECONDS counts as gone, so a
closed laptop disappears within TTL_SECONDS even where the cache keeps the key. Two beats at
the same instant can overwrite each other (read, change, write): the lost one is back with
that viewer's next beat.

Presence is a courtesy, not a lock (the save-time collision check still guards edits): with
the cache unreachable every function here degrades to "nobody else is here" and logs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

logger = logging.getLogger(__name__)

TTL_SECONDS = 30
HEARTBEAT_SECONDS = 10
VIEWING, TYPING, GONE = "viewing", "typing", "gone"
STATES = (VIEWING, TYPING, GONE)
_DOING = {VIEWING: "is viewing", TYPING: "is typing a reply"}

# Seconds since the epoch; tests replace it to move time without sleeping.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Viewer:
    name: str
    state: str

    @property
    def text(self) -> str:
        """A sentence such as "Erik is viewing" or "Erik is typing a reply"."""
        return f"{self.name} {_DOING[self.state]}"


def _key(ticket_id: int) -> str:
    return f"presence:ticket:{ticket_id}"


def _display_name(user: AbstractBaseUser) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return str(full_name or user.get_username())


def _fresh(entries: Any, now: float) -> dict[str, list[Any]]:
    """The entries of a cached value that are still alive (ignoring anything malformed)."""
    if not isinstance(entries, dict):
        return {}
    return {
        uid: entry
        for uid, entry in entries.items()
        if isinstance(entry, list) and len(entry) == 3 and now - float(entry[2]) < TTL_SECONDS
    }


def presence_beat(*, ticket_id: int, user: AbstractBaseUser, state: str) -> list[Viewer]:
    """Record that `user` has the ticket open (`viewing`, `typing`) or has left it (`gone`);
    return the others who have it open now. Raises ValueError for another state."""
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    now = clock()
    try:
        entries = _fresh(cache.get(_key(ticket_id)), now)
        me = str(user.pk)
        if state == GONE:
            entries.pop(me, None)
        else:
            entries[me] = [_display_name(user), state, now]
        cache.set(_key(ticket_id), entries, timeout=TTL_SECONDS)
    except Exception:  # redis.ConnectionError, TimeoutError, ...: presence is optional
        logger.warning("presence cache unavailable; ticket %s shows nobody else", ticket_id, exc_info=True)
        return []
    return [Viewer(name=name, state=doing) for uid, (name, doing, _) in sorted(entries.items()) if uid != me]
