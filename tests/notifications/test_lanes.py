"""Lanes run a round's items at once, each in its own thread, and report every item's end."""

from __future__ import annotations

import threading
from contextvars import ContextVar

import pytest

from notifications.lanes import Lanes
from tests.services import EVENTUALLY

request_id: ContextVar[str] = ContextVar("test_lanes_request_id", default="none")


def test_every_item_of_a_round_runs_at_once_in_a_thread_of_its_own():
    together = threading.Barrier(3, timeout=EVENTUALLY)  # breaks unless all three wait at once

    def meet(item: int) -> tuple[int, int]:
        together.wait()
        return item, threading.get_ident()

    with Lanes(3) as lanes:
        results = lanes.map(meet, [1, 2, 3])
    assert [item for item, _ in results] == [1, 2, 3]
    assert len({thread for _, thread in results}) == 3


def test_an_error_is_raised_once_the_other_items_have_finished():
    finished = []

    def work(item: int) -> int:
        if item == 0:
            raise ValueError("broken item")
        finished.append(item)
        return item

    with Lanes(4) as lanes, pytest.raises(ValueError, match="broken item"):
        lanes.map(work, [0, 1, 2, 3])
    assert sorted(finished) == [1, 2, 3]


def test_a_round_larger_than_the_lanes_is_refused():
    with Lanes(2) as lanes, pytest.raises(ValueError, match="3 items for 2 lanes"):
        lanes.map(str, [1, 2, 3])


def test_items_run_in_the_callers_context():
    request_id.set("req-42")
    with Lanes(3) as lanes:
        assert lanes.map(lambda _: request_id.get(), [1, 2, 3]) == ["req-42"] * 3
