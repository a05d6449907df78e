"""Lanes keep each analyzer's calls in order, run analyzers side by side, bound the backlog, and
hand an analyzer's error back to the stage."""

from __future__ import annotations

import threading
import time

import pytest

from clipdex.analyzers.lanes import Lane, Lanes


def test_calls_run_in_order_and_drain_waits_for_them():
    seen: list[int] = []
    lanes = Lanes(("a",))
    for i in range(200):
        lanes.submit("a", seen.append, i)
    lanes.drain()
    assert seen == list(range(200))
    lanes.close()


def test_two_lanes_run_at_the_same_time():
    both = threading.Barrier(2, timeout=5)
    lanes = Lanes(("ocr", "faces"))
    lanes.submit("ocr", both.wait)
    lanes.submit("faces", both.wait)  # each waits for the other: only possible side by side
    lanes.drain()
    lanes.close()


def test_the_backlog_is_bounded():
    gate = threading.Event()
    lane = Lane("slow", depth=2)
    lane.submit(gate.wait)  # running
    lane.submit(lambda: None)
    lane.submit(lambda: None)  # queue full now
    t = threading.Thread(target=lane.submit, args=(lambda: None,))
    t.start()
    time.sleep(0.2)
    assert t.is_alive()  # the producer waits instead of queueing more
    gate.set()
    t.join(5)
    lane.drain()
    lane.close()


def test_an_error_reaches_the_stage_and_later_calls_are_skipped():
    seen: list[int] = []
    lanes = Lanes(("a",))

    def boom():
        raise ValueError("analyzer failed")

    lanes.submit("a", boom)
    with pytest.raises(ValueError, match="analyzer failed"):
        for i in range(100):  # a later submit (or the drain) raises it
            lanes.submit("a", seen.append, i)
        lanes.drain()
    assert len(seen) < 100
    lanes.close()


def test_inline_runs_on_the_callers_thread():
    where: list[int] = []
    lanes = Lanes(("a",), inline=True)
    lanes.submit("a", lambda: where.append(threading.get_ident()))
    lanes.drain()
    assert where == [threading.get_ident()]
