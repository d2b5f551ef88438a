"""Lanes: a few threads that live for one task and run work items side by side.

Django gives every thread its own database connection, opened on first use. A thread that
ends without closing it leaves it open on the server, so each lane closes its connections in
its own thread when the block ends. Lanes live for the whole block (not one item), so a task
opens a connection per lane rather than one per item.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from django.db import connections

T = TypeVar("T")
R = TypeVar("R")


class Lanes:
    """The caller's thread and up to `count - 1` threads: `map` runs each item in a lane of its
    own, all at once.

    Use it as a context manager: leaving the block ends the lanes and closes their connections.
    """

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._inboxes: list[queue.SimpleQueue[Any]] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Lanes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for thread in self._threads:
            thread.join()

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`[fn(item) for item in items]`, every item started at once: the first in the
        caller's thread, each other in a lane of its own. Raises ValueError for more items
        than `count`, and re-raises an item's exception once every item has finished."""
        if len(items) > self.count:
            raise ValueError(f"{len(items)} items for {self.count} lanes")
        while len(self._inboxes) < len(items) - 1:
            self._start_lane()
        answers: queue.SimpleQueue[tuple[int, bool, Any]] = queue.SimpleQueue()
        for index, (inbox, item) in enumerate(zip(self._inboxes, items[1:], strict=False), start=1):
            # In the caller's context: log lines keep its request and task ids.
            inbox.put((fn, item, index, answers, contextvars.copy_context()))
        if items:
            _run(fn, items[0], 0, answers)
        results: dict[int, Any] = {}
        error: BaseException | None = None
        for _ in items:
            index, ok, value = answers.get()
            results[index] = value
            if not ok and error is None:
                error = value
        if error is not None:
            raise error
        return [results[index] for index in range(len(items))]

    def _start_lane(self) -> None:
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        thread = threading.Thread(target=_lane, args=(inbox,), name=f"lane-{len(self._threads)}", daemon=True)
        thread.start()
        self._inboxes.append(inbox)
        self._threads.append(thread)


def _lane(inbox: queue.SimpleQueue[Any]) -> None:
    try:
        while (job := inbox.get()) is not None:
            _run(*job)
    finally:
        connections.close_all()


def _run(
    fn: Callable[[Any], Any],
    item: Any,
    index: int,
    answers: queue.SimpleQueue[Any],
    context: contextvars.Context | None = None,
) -> None:
    try:
        answers.put((index, True, context.run(fn, item) if context else fn(item)))
    except BaseException as exc:  # handed to the caller of `map`, which re-raises it
        answers.put((index, False, exc))
