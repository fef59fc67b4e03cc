"""The work queue: de-duplication, re-queue of keys changed while processed, backoff."""

from __future__ import annotations

import itertools
import threading
import time

from albctl.controller.queue import WorkQueue


def test_a_key_is_queued_once() -> None:
    q = WorkQueue()
    for _ in range(3):
        q.add("g:a")
    q.add("g:b")
    assert len(q) == 2
    assert q.get(timeout=1) == "g:a"
    assert q.get(timeout=1) == "g:b"
    assert q.get(timeout=0.05) is None


def test_a_key_added_while_processing_comes_back_after_done() -> None:
    q = WorkQueue()
    q.add("g:a")
    key = q.get(timeout=1)
    q.add("g:a")  # changed again while a worker has it
    assert q.get(timeout=0.05) is None  # never handed to a second worker at the same time
    q.done(key)  # type: ignore[arg-type]
    assert q.get(timeout=1) == "g:a"


def test_failures_back_off_exponentially_until_forgotten() -> None:
    q = WorkQueue(base_delay=0.05, max_delay=10)
    delays = [q.add_rate_limited("g:a") for _ in range(5)]
    assert all(b > a for a, b in itertools.pairwise(delays))
    assert 0.04 <= delays[0] <= 0.06 and delays[4] >= 0.05 * 16 * 0.8
    assert q.failures("g:a") == 5
    q.forget("g:a")
    assert q.failures("g:a") == 0


def test_delayed_keys_arrive_after_their_delay() -> None:
    q = WorkQueue()
    start = time.monotonic()
    q.add_after("g:late", 0.2)
    assert q.get(timeout=1) == "g:late"
    assert time.monotonic() - start >= 0.19


def test_shutdown_wakes_waiting_workers() -> None:
    q = WorkQueue()
    got: list[str | None] = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    time.sleep(0.05)
    q.shutdown()
    t.join(timeout=2)
    assert got == [None]
