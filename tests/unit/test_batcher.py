"""MicroBatcher with FakeEngine. No timing asserts: batches are steered with a gate, not with sleeps."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from guard.batcher import MicroBatcher
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.fake import FakeEngine, FakeEngineError
from guard.errors import ConfigError, DeadlineError, OverloadedError

Fn = Callable[[Sequence[EngineInput]], list[EngineOutput]]


class Gate:
    """Holds the first batch inside the batch function until released, so the queue can fill up."""

    def __init__(self, fn: Fn) -> None:
        self.fn = fn
        self.entered = threading.Event()
        self.released = threading.Event()

    def __call__(self, batch: Sequence[EngineInput]) -> list[EngineOutput]:
        self.entered.set()
        self.released.wait(timeout=30)
        return self.fn(batch)

    async def wait_entered(self) -> None:
        await asyncio.to_thread(self.entered.wait, 30)


class Recorder:
    """A BatchObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.depths: list[int] = []
        self.batches: list[tuple[int, list[float], float]] = []

    def on_enqueue(self, depth: int) -> None:
        self.depths.append(depth)

    def on_batch(self, size: int, queue_wait_s: list[float], inference_s: float) -> None:
        self.batches.append((size, queue_wait_s, inference_s))


async def until_depth(batcher: MicroBatcher[Any, Any], depth: int) -> None:
    for _ in range(10_000):  # submits are tasks: let them reach the queue
        if batcher.depth >= depth:
            return
        await asyncio.sleep(0)
    raise AssertionError("items never queued")


def _item(i: int, hit: bool = False) -> EngineInput:
    return EngineInput(f"item {i}" + (" 우울증" if hit else ""))


async def test_concurrent_submits_are_batched_and_answered_each() -> None:
    engine = FakeEngine()
    observer = Recorder()
    async with MicroBatcher(engine.predict, max_batch_size=16, observer=observer) as batcher:
        items = [_item(i, hit=i % 3 == 0) for i in range(64)]
        outs = await asyncio.gather(*(batcher.submit(item) for item in items))
    assert [o.scores["S1"] > 0.5 for o in outs] == [i % 3 == 0 for i in range(64)]
    assert sum(engine.batch_sizes) == 64
    assert 1 < max(engine.batch_sizes) <= 16
    assert [b[0] for b in observer.batches] == engine.batch_sizes
    assert all(len(waits) == size and inference_s >= 0 for size, waits, inference_s in observer.batches)
    assert len(observer.depths) == 64


async def test_an_idle_batcher_sends_a_lone_item_at_once_and_a_busy_one_gathers() -> None:
    engine = FakeEngine()
    gate = Gate(engine.predict)
    async with MicroBatcher(gate, max_batch_size=3, max_wait_s=3600) as batcher:
        # nothing computing: no hour of waiting for company (the wait_for only turns a hang into a failure)
        first = asyncio.create_task(batcher.submit(_item(0)))
        await asyncio.wait_for(gate.wait_entered(), 30)
        later = [asyncio.create_task(batcher.submit(_item(i))) for i in (1, 2, 3)]
        await until_depth(batcher, 3)
        gate.released.set()  # a batch was computing: the three queued behind it go together
        await asyncio.wait_for(asyncio.gather(first, *later), 30)
    assert engine.batch_sizes == [1, 3]


async def test_results_go_to_their_callers() -> None:
    async with MicroBatcher(lambda xs: [x * 10 for x in xs], max_batch_size=8,
                            sort_key=lambda x: -x) as batcher:
        assert await asyncio.gather(*(batcher.submit(i) for i in range(50))) == [i * 10 for i in range(50)]


async def test_batches_are_sorted_by_key() -> None:
    engine = FakeEngine()
    async with MicroBatcher(engine.predict, max_batch_size=32, sort_key=lambda i: len(i.text)) as batcher:
        await asyncio.gather(*(batcher.submit(EngineInput("x" * ((i * 7) % 13))) for i in range(40)))
    for batch in engine.batches:
        assert [len(i.text) for i in batch] == sorted(len(i.text) for i in batch)


async def test_overload_is_refused_before_enqueue() -> None:
    engine = FakeEngine()
    gate = Gate(engine.predict)
    async with MicroBatcher(gate, max_batch_size=1, max_queue=2) as batcher:
        first = asyncio.create_task(batcher.submit(_item(0)))
        await gate.wait_entered()
        queued = [asyncio.create_task(batcher.submit(_item(i))) for i in (1, 2)]
        await until_depth(batcher, 2)
        with pytest.raises(OverloadedError):
            await batcher.submit(_item(3))
        assert batcher.depth == 2
        gate.released.set()
        await asyncio.gather(first, *queued)
    assert [i.text for i in engine.seen] == ["item 0", "item 1", "item 2"]


async def test_passed_deadline_is_not_computed() -> None:
    engine = FakeEngine()
    async with MicroBatcher(engine.predict) as batcher:
        results = await asyncio.gather(batcher.submit(_item(0)),
                                       batcher.submit(_item(1), deadline=time.monotonic() - 1),
                                       batcher.submit(_item(2), deadline=time.monotonic() + 3600),
                                       return_exceptions=True)
    assert isinstance(results[1], DeadlineError)
    assert all(isinstance(r, EngineOutput) for r in (results[0], results[2]))
    assert [i.text for i in engine.seen] == ["item 0", "item 2"]


async def test_deadline_passing_while_queued() -> None:
    engine = FakeEngine()
    gate = Gate(engine.predict)
    async with MicroBatcher(gate, max_batch_size=4) as batcher:
        first = asyncio.create_task(batcher.submit(_item(0)))
        await gate.wait_entered()
        deadline = time.monotonic() + 0.05
        late = asyncio.create_task(batcher.submit(_item(1), deadline=deadline))
        await until_depth(batcher, 1)
        while time.monotonic() < deadline:  # let the deadline pass while the item waits
            await asyncio.sleep(0.01)
        gate.released.set()
        await first
        with pytest.raises(DeadlineError):
            await late
    assert [i.text for i in engine.seen] == ["item 0"]


async def test_failure_fails_only_its_batch() -> None:
    engine = FakeEngine(fail_on=lambda batch: any("boom" in i.text for i in batch))
    gate = Gate(engine.predict)
    async with MicroBatcher(gate, max_batch_size=4) as batcher:
        first = asyncio.create_task(batcher.submit(_item(0)))
        await gate.wait_entered()
        # Queued while the first batch runs, in order: the next batch is these four, then the last two.
        doomed = [asyncio.create_task(batcher.submit(t)) for t in
                  (_item(1), EngineInput("boom"), _item(2), _item(3))]
        fine = [asyncio.create_task(batcher.submit(_item(i))) for i in (4, 5)]
        await until_depth(batcher, 6)
        gate.released.set()
        assert isinstance(await first, EngineOutput)
        errors = await asyncio.gather(*doomed, return_exceptions=True)
        assert all(isinstance(r, EngineOutput) for r in await asyncio.gather(*fine))
    assert isinstance(errors[0], FakeEngineError)
    assert all(e is errors[0] for e in errors)  # the same exception for the batch, not rewrapped
    assert engine.batch_sizes == [1, 2]


async def test_failing_batch_leaves_the_batcher_running() -> None:
    engine = FakeEngine(fail_on=lambda batch: any("boom" in i.text for i in batch))
    async with MicroBatcher(engine.predict, max_batch_size=1) as batcher:
        results = await asyncio.gather(batcher.submit(_item(0)), batcher.submit(EngineInput("boom")),
                                       batcher.submit(_item(2)), return_exceptions=True)
        assert isinstance(results[1], FakeEngineError)
        assert isinstance(results[0], EngineOutput) and isinstance(results[2], EngineOutput)
        assert isinstance(await batcher.submit(_item(3)), EngineOutput)


async def test_wrong_result_count_fails_the_batch() -> None:
    calls: list[int] = []

    def short(xs: Sequence[int]) -> list[int]:
        calls.append(len(xs))
        return list(xs)[1:] if len(calls) == 1 else list(xs)

    async with MicroBatcher(short, max_batch_size=8) as batcher:
        results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert await batcher.submit(7) == 7


async def test_stop_drains_the_queue() -> None:
    engine = FakeEngine()
    gate = Gate(engine.predict)
    batcher: MicroBatcher[EngineInput, EngineOutput] = MicroBatcher(gate, max_batch_size=2)
    await batcher.start()
    tasks = [asyncio.create_task(batcher.submit(_item(0)))]
    await gate.wait_entered()
    tasks += [asyncio.create_task(batcher.submit(_item(i))) for i in range(1, 6)]
    await until_depth(batcher, 5)
    stopping = asyncio.create_task(batcher.stop())
    await asyncio.sleep(0)
    with pytest.raises(OverloadedError):
        await batcher.submit(_item(9))
    gate.released.set()
    await stopping
    assert all(t.done() and isinstance(t.result(), EngineOutput) for t in tasks)
    assert sorted(i.text for i in engine.seen) == [f"item {i}" for i in range(6)]
    assert batcher.depth == 0
    with pytest.raises(OverloadedError):
        await batcher.submit(_item(10))


async def test_cancelled_callers_are_skipped() -> None:
    engine = FakeEngine()
    gate = Gate(engine.predict)
    async with MicroBatcher(gate, max_batch_size=8) as batcher:
        first = asyncio.create_task(batcher.submit(_item(0)))
        await gate.wait_entered()
        gone = asyncio.create_task(batcher.submit(_item(1)))
        kept = asyncio.create_task(batcher.submit(_item(2)))
        await until_depth(batcher, 2)
        gone.cancel()
        gate.released.set()
        await asyncio.gather(first, kept)
        assert gone.cancelled()
    assert [i.text for i in engine.seen] == ["item 0", "item 2"]


async def test_observer_failure_does_not_break_serving() -> None:
    class Broken(Recorder):
        def on_batch(self, size: int, queue_wait_s: list[float], inference_s: float) -> None:
            raise RuntimeError("observer bug")

    async with MicroBatcher(lambda xs: list(xs), observer=Broken()) as batcher:
        assert await batcher.submit(1) == 1


async def test_sort_key_failure_fails_the_batch() -> None:
    def bad_key(x: int) -> int:
        raise KeyError("no key")

    async with MicroBatcher(lambda xs: list(xs), sort_key=bad_key) as batcher:
        with pytest.raises(KeyError):
            await batcher.submit(1)


async def test_lifecycle_errors() -> None:
    batcher: MicroBatcher[int, int] = MicroBatcher(lambda xs: list(xs))
    with pytest.raises(OverloadedError):
        await batcher.submit(1)
    await batcher.stop()  # stopping a batcher never started is a no-op
    async with batcher:
        async with batcher:  # start() when running is a no-op
            assert await batcher.submit(1) == 1
    async with batcher:  # restartable after stop
        assert await batcher.submit(2) == 2
    with pytest.raises(ConfigError):
        MicroBatcher(lambda xs: list(xs), max_batch_size=0)


async def test_cancelled_stop_still_drains() -> None:
    engine = FakeEngine()
    gate = Gate(engine.predict)
    batcher: MicroBatcher[EngineInput, EngineOutput] = MicroBatcher(gate, max_batch_size=2)
    await batcher.start()
    tasks = [asyncio.create_task(batcher.submit(_item(i))) for i in range(4)]
    await gate.wait_entered()
    stopping = asyncio.create_task(batcher.stop())
    await asyncio.sleep(0)
    stopping.cancel()
    gate.released.set()
    assert all(isinstance(r, EngineOutput) for r in await asyncio.gather(*tasks))
    await batcher.stop()
    assert len(engine.seen) == 4
