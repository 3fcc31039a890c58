"""LongTextLane and CharBudget (guard.batcher) with FakeEngine's slices. No timing asserts: slices are
steered with events, and what is asserted is an order or a count."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from guard.batcher import CharBudget, LongTextLane
from guard.engine.base import EngineInput, EngineOutput, Pacer
from guard.engine.fake import FakeEngine
from guard.errors import DeadlineError, OverloadedError


async def until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll until `predicate` holds; fail after `timeout_s` (a bound on hanging, not a speed check)."""
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, "condition never reached"
        await asyncio.sleep(0.001)


def _lane(engine: FakeEngine, **kw: int) -> LongTextLane[EngineInput, EngineOutput]:
    def paced(item: EngineInput, pacer: Pacer) -> EngineOutput:
        return engine.predict([item], pacer=pacer)[0]

    return LongTextLane(paced, **kw)


class Turnstile:
    """on_slice hook: records which text each slice belonged to, and holds every slice until `go`."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.go = threading.Event()
        self.entered = threading.Semaphore(0)
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.order.append(threading.current_thread().name)
        self.entered.release()
        self.go.wait(timeout=30)

    async def wait_slices(self, n: int) -> None:
        for _ in range(n):
            assert await asyncio.to_thread(self.entered.acquire, True, 30), "no slice came"


async def test_two_long_texts_take_turns_slice_by_slice() -> None:
    """With one slice at a time, two long texts alternate A B A B ...: neither waits for the other to end."""
    order: list[str] = []
    tags: dict[str, str] = {}
    b_in_line = threading.Event()

    def tagging_hook() -> None:
        name = threading.current_thread().name
        if name not in tags:
            tags[name] = "AB"[len(tags)]
        order.append(tags[name])
        if len(order) == 1:
            b_in_line.wait(timeout=30)  # A's first slice lasts until B waits for the turn

    engine = FakeEngine(slice_chars=10, on_slice=tagging_hook)
    lane = _lane(engine, concurrent_slices=1, max_texts=4)
    await lane.start()
    first = asyncio.create_task(lane.submit(EngineInput("a" * 100)))  # 10 slices each
    await until(lambda: bool(order))
    second = asyncio.create_task(lane.submit(EngineInput("b" * 100)))
    await until(lambda: lane.waiting >= 1)
    b_in_line.set()
    await asyncio.gather(first, second)
    await lane.stop()
    assert "".join(order) == "AB" * 10


async def test_a_cancelled_caller_stops_its_text_at_the_next_slice() -> None:
    gate = Turnstile()
    engine = FakeEngine(slice_chars=10, on_slice=gate)
    lane = _lane(engine, concurrent_slices=1)
    await lane.start()
    call = asyncio.create_task(lane.submit(EngineInput("x" * 1000)))  # 100 slices
    await gate.wait_slices(1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    gate.go.set()  # let the thread move on: it must stop before the next slice
    await lane.stop()
    assert engine.slices == 1 and not engine.batches  # predict never completed


async def test_a_passed_deadline_stops_the_text_between_slices() -> None:
    gate = Turnstile()
    engine = FakeEngine(slice_chars=10, on_slice=gate)
    lane = _lane(engine)
    await lane.start()
    deadline = time.monotonic() + 0.2
    call = asyncio.create_task(lane.submit(EngineInput("x" * 1000), deadline=deadline))
    await gate.wait_slices(1)
    while time.monotonic() < deadline:  # the first slice is held past the deadline
        await asyncio.sleep(0.01)
    gate.go.set()
    with pytest.raises(DeadlineError):
        await call
    await lane.stop()
    assert engine.slices == 1


async def test_a_text_waiting_for_its_turn_leaves_the_line_when_its_caller_goes() -> None:
    gate = Turnstile()
    engine = FakeEngine(slice_chars=10, on_slice=gate)
    lane = _lane(engine, concurrent_slices=1)
    await lane.start()
    holder = asyncio.create_task(lane.submit(EngineInput("a" * 30)))  # 3 slices
    await gate.wait_slices(1)
    waiter = asyncio.create_task(lane.submit(EngineInput("b" * 1000)))
    await until(lambda: lane.waiting == 1)  # in line for the turn the holder has
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.go.set()
    await holder
    await lane.stop()
    assert engine.slices == 3  # the holder's only: the waiter never computed a slice


async def test_stop_with_a_timeout_stops_a_text_in_progress_and_its_caller_hears_of_it() -> None:
    engine = FakeEngine(slice_chars=1, on_slice=lambda: time.sleep(0.001))  # a slow model: 200 s of slices
    lane = _lane(engine)
    await lane.start()
    call = asyncio.create_task(lane.submit(EngineInput("x" * 200_000)))
    await until(lambda: engine.slices > 0)
    await asyncio.wait_for(lane.stop(timeout=0.1), 30)  # returns long before the text could be done
    with pytest.raises(OverloadedError):
        await call
    assert 0 < engine.slices < 200_000


async def test_a_stopped_lane_refuses_new_texts() -> None:
    lane = _lane(FakeEngine())
    with pytest.raises(OverloadedError):
        await lane.submit(EngineInput("x"))


def test_char_budget_sheds_beyond_its_limit_but_admits_one_large_request_alone() -> None:
    budget = CharBudget(100)
    budget.reserve(500)  # nothing in flight: a request above the whole budget may run alone
    with pytest.raises(OverloadedError):
        budget.reserve(1)
    budget.release(500)
    budget.reserve(60)
    budget.reserve(40)
    with pytest.raises(OverloadedError):
        budget.reserve(1)
    assert budget.in_flight == 100
