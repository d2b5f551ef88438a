"""Lanes: threads kept between batches that run a batch's items side by side.

Django gives every thread its own database connection, opened on first use. Starting a
thread and a connection per item (or per task) cost more than sending a page to a provider
that answers at once, so a worker process keeps its lanes, and their connections, from one
batch to the next. Each item is handled like a request: `close_old_connections()` before and
after it drops a connection that broke or is older than CONN_MAX_AGE. A lane idle for
IDLE_SECONDS closes its connections and ends, so a quiet worker holds none; `lanes_close()`
ends them all (a worker process's shutdown; the tests, after each test).
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

IDLE_SECONDS = 30.0
_DONE = object()  # a lane's answer once it has finished with a batch

# One batch's work: the function, its items as (index, item), where answers go, the caller's
# context (log lines keep its request and task ids).
_Work = tuple[
    Callable[[Any], Any], "queue.SimpleQueue[tuple[int, Any]]", "queue.SimpleQueue[Any]", contextvars.Context
]


class Lanes:
    """A pool of lanes that grows to the widest batch asked of it."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._parked: list[queue.SimpleQueue[_Work | None]] = []  # inboxes of lanes waiting for work
        self._threads: dict[queue.SimpleQueue[_Work | None], threading.Thread] = {}

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, width: int) -> list[R]:
        """`[fn(item) for item in items]`, up to `width` at once: the caller's thread and
        `width - 1` lanes each take the next item until none is left. Re-raises an item's
        exception once every item has finished. With `width` 1 everything runs in the
        caller's thread."""
        jobs: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        for job in enumerate(items):
            jobs.put(job)
        answers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        helpers = max(0, min(width, len(items)) - 1)
        for _ in range(helpers):
            self._lane_inbox().put((fn, jobs, answers, contextvars.copy_context()))
        _drain(fn, jobs, answers, None)
        results: dict[int, Any] = {}
        error: BaseException | None = None
        # Every item's answer, and every helper's word that it is done with the batch (so the
        # next batch finds it parked, and nothing of this one runs after `map` returns).
        for _ in range(len(items) + helpers):
            answer = answers.get()
            if answer is _DONE:
                continue
            index, ok, value = answer
            results[index] = value
            if not ok and error is None:
                error = value
        if error is not None:
            raise error
        return [results[index] for index in range(len(items))]

    def close(self) -> None:
        """End every lane (each closes its connections first) and wait for them."""
        with self._lock:
            threads, self._threads = self._threads, {}
            self._parked.clear()
        for inbox, thread in threads.items():
            inbox.put(None)
            thread.join()

    def _lane_inbox(self) -> queue.SimpleQueue[_Work | None]:
        with self._lock:
            if self._parked:
                return self._parked.pop()
            inbox: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
            thread = threading.Thread(target=self._lane, args=(inbox,), name="lane", daemon=True)
            self._threads[inbox] = thread
        thread.start()
        return inbox

    def _lane(self, inbox: queue.SimpleQueue[_Work | None]) -> None:
        try:
            while (work := self._next_work(inbox)) is not None:
                fn, jobs, answers, context = work
                try:
                    _drain(fn, jobs, answers, context, requests=True)
                    with self._lock:
                        if inbox in self._threads:  # not closed meanwhile
                            self._parked.append(inbox)
                finally:
                    answers.put(_DONE)
        except Exception:  # its items were answered; the next batch starts another lane
            logger.exception("a send lane ended on an error")
            with self._lock:
                self._threads.pop(inbox, None)
        finally:
            connections.close_all()

    def _next_work(self, inbox: queue.SimpleQueue[_Work | None]) -> _Work | None:
        """The lane's next batch; None once it is closed or has been idle for idle_seconds
        (unless a batch took it from the parked lanes meanwhile: then it waits for that)."""
        try:
            return inbox.get(timeout=self.idle_seconds)
        except queue.Empty:
            with self._lock:
                if inbox in self._parked:
                    self._parked.remove(inbox)
                    del self._threads[inbox]
                    return None
            return inbox.get()


def _drain(
    fn: Callable[[Any], Any],
    jobs: queue.SimpleQueue[tuple[int, Any]],
    answers: queue.SimpleQueue[tuple[int, bool, Any]],
    context: contextvars.Context | None,
    *,
    requests: bool = False,
) -> None:
    """Run `fn` on `jobs`' items until none is left, answering each. With `requests`, each
    item is a request to Django's connection handling (a lane's own connections)."""
    while True:
        try:
            index, item = jobs.get_nowait()
        except queue.Empty:
            return
        try:  # every item taken is answered, or the caller of `map` would wait for ever
            if requests:
                close_old_connections()
            answers.put((index, True, context.run(fn, item) if context else fn(item)))
        except BaseException as exc:  # handed to the caller of `map`, which re-raises it
            answers.put((index, False, exc))
        finally:
            if requests:
                close_old_connections()


_shared: tuple[int, Lanes] | None = None
_shared_lock = threading.Lock()


def lanes_shared() -> Lanes:
    """This process's lanes (a forked child makes its own)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), Lanes())
        return _shared[1]


def lanes_close() -> None:
    """End this process's lanes and close their connections."""
    global _shared
    with _shared_lock:
        shared, _shared = _shared, None
    if shared is not None and shared[0] == os.getpid():
        shared[1].close()
