"""Lanes run a batch's items side by side, report every item's end, and keep their threads
(and database connections) from one batch to the next until idle or closed."""

from __future__ import annotations

import threading
from contextvars import ContextVar

import pytest
from django.db import connection

from notifications.lanes import Lanes, lanes_close, lanes_shared
from tests.services import EVENTUALLY, wait_until

request_id: ContextVar[str] = ContextVar("test_lanes_request_id", default="none")


def test_a_batch_runs_width_items_at_once_the_callers_thread_among_them():
    together = threading.Barrier(3, timeout=EVENTUALLY)  # breaks unless all three wait at once

    def meet(item: int) -> tuple[int, int]:
        together.wait()
        return item, threading.get_ident()

    lanes = Lanes()
    try:
        results = lanes.map(meet, [1, 2, 3], width=3)
    finally:
        lanes.close()
    assert [item for item, _ in results] == [1, 2, 3]
    threads = {thread for _, thread in results}
    assert len(threads) == 3 and threading.get_ident() in threads


def test_more_items_than_width_never_run_more_than_width_at_once():
    running, most, lock = 0, 0, threading.Lock()
    first_three = threading.Barrier(3, timeout=EVENTUALLY)  # breaks unless three run at once

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if item < 3:
            first_three.wait()
        threading.Event().wait(0.01)
        with lock:
            running -= 1
        return item * 2

    lanes = Lanes()
    try:
        assert lanes.map(work, list(range(10)), width=3) == [n * 2 for n in range(10)]
    finally:
        lanes.close()
    assert most == 3


def test_width_one_runs_everything_in_the_callers_thread():
    lanes = Lanes()
    assert lanes.map(lambda _: threading.get_ident(), [1, 2, 3], width=1) == [threading.get_ident()] * 3
    assert not any(thread.name == "lane" for thread in threading.enumerate()), "no lane was started"


def test_an_error_is_raised_once_the_other_items_have_finished():
    finished = []

    def work(item: int) -> int:
        if item == 0:
            raise ValueError("broken item")
        finished.append(item)
        return item

    lanes = Lanes()
    try:
        with pytest.raises(ValueError, match="broken item"):
            lanes.map(work, [0, 1, 2, 3], width=4)
    finally:
        lanes.close()
    assert sorted(finished) == [1, 2, 3]


def test_items_run_in_the_callers_context():
    request_id.set("req-42")
    lanes = Lanes()
    try:
        assert lanes.map(lambda _: request_id.get(), [1, 2, 3], width=3) == ["req-42"] * 3
    finally:
        lanes.close()


def test_the_next_batch_reuses_the_lanes():
    lanes = Lanes()
    barrier = threading.Barrier(2, timeout=EVENTUALLY)

    def both(_: int) -> int:
        barrier.wait()
        return threading.get_ident()

    try:
        first = set(lanes.map(both, [1, 2], width=2))
        second = set(lanes.map(both, [1, 2], width=2))
    finally:
        lanes.close()
    assert first == second


def test_an_idle_lane_ends_and_a_later_batch_starts_another():
    lanes = Lanes(idle_seconds=0.2)
    barrier = threading.Barrier(2, timeout=EVENTUALLY)

    def both(_: int) -> str:
        barrier.wait()
        return threading.current_thread().name

    lanes.map(both, [1, 2], width=2)
    wait_until(lambda: not any(t.name == "lane" for t in threading.enumerate()), EVENTUALLY, "lane kept")
    assert len(lanes.map(both, [1, 2], width=2)) == 2
    lanes.close()
    assert not any(t.name == "lane" for t in threading.enumerate())


def test_the_shared_lanes_are_one_per_process_until_closed():
    shared = lanes_shared()
    assert lanes_shared() is shared
    lanes_close()
    assert lanes_shared() is not shared


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_lane_keeps_its_database_connection_between_batches_and_closes_it_when_closed():
    if connection.vendor != "postgresql":
        pytest.skip("looks at PostgreSQL backends")
    lanes = Lanes()
    barrier = threading.Barrier(3, timeout=EVENTUALLY)

    def backend(_: int) -> int:
        barrier.wait()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    def alive(pids: set[int]) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
            return int(cursor.fetchone()[0])

    first = set(lanes.map(backend, [1, 2, 3], width=3))
    second = set(lanes.map(backend, [1, 2, 3], width=3))
    assert first == second and len(first) == 3, "the lanes kept their connections"
    lanes.close()
    lanes_pids = first - {backend_pid(connection)}
    # A backend leaves pg_stat_activity a moment after its client has closed the connection.
    wait_until(lambda: alive(lanes_pids) == 0, EVENTUALLY, "a lane left its connection open")
    assert alive({backend_pid(connection)}) == 1, "the caller's connection is not the lanes' to close"


def backend_pid(conn) -> int:  # type: ignore[no-untyped-def]
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_lane_whose_connection_handling_fails_still_answers_every_item(monkeypatch, caplog):
    lane_took_one = threading.Event()

    def broken() -> None:
        if threading.current_thread().name == "lane":
            lane_took_one.set()
            raise RuntimeError("connection handling failed")

    def item_fn(item: int) -> int:
        if threading.current_thread().name != "lane":
            lane_took_one.wait(EVENTUALLY)  # the caller leaves items for the lanes to take
        return item

    monkeypatch.setattr("notifications.lanes.close_old_connections", broken)
    lanes = Lanes()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            lanes.map(item_fn, list(range(6)), width=3)
        except RuntimeError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    caller.join(EVENTUALLY)
    lanes.close()
    assert not caller.is_alive(), "map waited for an item nobody answered"
    assert [str(exc) for exc in outcome] == ["connection handling failed"]
    assert "a send lane ended on an error" in caplog.text
