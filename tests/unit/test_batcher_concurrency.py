"""MicroBatcher with max_concurrent_batches > 1, and the setting's wiring (config, env, CLI, AsyncGuard).

No timing asserts: calls of the batch function are held inside it until released, and counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.batcher import MicroBatcher
from guard.cli import build_parser, config_from_args
from guard.config import BatcherConfig, EngineConfig, GuardConfig, from_env, serve_defaults
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.fake import FakeEngine
from guard.errors import ConfigError, DeadlineError, OverloadedError
from guard.sdk import AsyncGuard
from tests.unit.test_batcher import Recorder, until_depth


def _times_ten(xs: Sequence[int]) -> list[int]:
    if any(x < 0 for x in xs):
        raise ValueError("negative")
    return [x * 10 for x in xs]


class Held:
    """A batch function that holds every call until `release` is set, counting the calls inside at once."""

    def __init__(self, fn: Callable[[Sequence[int]], list[int]] = _times_ten) -> None:
        self.fn = fn
        self.release = threading.Event()
        self.batches: list[list[int]] = []  # in the order the calls entered
        self.inside = 0
        self.peak = 0
        self._cond = threading.Condition()

    def __call__(self, batch: Sequence[int]) -> list[int]:
        with self._cond:
            self.batches.append(list(batch))
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self._cond.notify_all()
        try:
            self.release.wait(timeout=30)
            return self.fn(batch)
        finally:
            with self._cond:
                self.inside -= 1

    @property
    def entered(self) -> int:
        with self._cond:
            return len(self.batches)

    async def wait_entered(self, n: int) -> None:
        def wait() -> bool:
            with self._cond:
                return self._cond.wait_for(lambda: len(self.batches) >= n, timeout=30)

        assert await asyncio.to_thread(wait), f"{n} calls never ran at once"


async def _settle() -> None:
    for _ in range(100):  # give a (wrong) collector every chance to take more work
        await asyncio.sleep(0)


async def test_two_batches_run_at_once() -> None:
    held = Held()
    async with MicroBatcher(held, max_batch_size=1, max_concurrent_batches=2) as batcher:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
        await held.wait_entered(2)  # both inside the batch function while neither is released
        assert held.inside == 2
        held.release.set()
        assert await asyncio.gather(*tasks) == [10, 20]


async def test_one_slot_runs_one_batch_at_a_time() -> None:
    held = Held()
    async with MicroBatcher(held, max_batch_size=1) as batcher:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
        await held.wait_entered(1)
        await until_depth(batcher, 1)
        await _settle()
        assert held.entered == 1 and batcher.depth == 1
        held.release.set()
        assert await asyncio.gather(*tasks) == [10, 20]
    assert held.peak == 1


async def test_never_more_than_the_limit() -> None:
    held = Held()
    async with MicroBatcher(held, max_batch_size=1, max_concurrent_batches=3) as batcher:
        tasks = [asyncio.create_task(batcher.submit(i)) for i in range(10)]
        await held.wait_entered(3)
        await until_depth(batcher, 7)
        await _settle()
        assert held.entered == 3 and batcher.depth == 7  # the collector waits for a slot, takes nothing
        held.release.set()
        assert await asyncio.gather(*tasks) == [i * 10 for i in range(10)]
    assert held.peak == 3 and len(held.batches) == 10


async def test_items_accumulate_into_one_batch_while_all_slots_are_busy() -> None:
    held = Held()
    observer = Recorder()
    # No wait for more items: a collector that took an item while all slots are busy would hold a batch of one.
    async with MicroBatcher(held, max_batch_size=16, max_wait_s=0, max_concurrent_batches=2,
                            observer=observer) as batcher:
        busy = []
        for i in (1, 2):  # one batch each: the second is submitted once the first runs
            busy.append(asyncio.create_task(batcher.submit(i)))
            await held.wait_entered(i)
        queued = []
        for i in range(3, 8):  # one at a time, each with every chance to be taken alone
            queued.append(asyncio.create_task(batcher.submit(i)))
            await _settle()
        gone = asyncio.create_task(batcher.submit(8))
        late = asyncio.create_task(batcher.submit(9, deadline=time.monotonic() - 1))
        await until_depth(batcher, 7)
        gone.cancel()
        held.release.set()
        assert await asyncio.gather(*busy, *queued) == [i * 10 for i in range(1, 8)]
        with pytest.raises(DeadlineError):
            await late
        assert gone.cancelled()
    assert held.batches == [[1], [2], [3, 4, 5, 6, 7]]  # one batch, without the cancelled and the late
    assert sorted(size for size, _, _ in observer.batches) == [1, 1, 5]


async def test_stop_drains_in_flight_and_queued_batches() -> None:
    held = Held()
    batcher: MicroBatcher[int, int] = MicroBatcher(held, max_batch_size=2, max_concurrent_batches=2)
    await batcher.start()
    tasks = []
    for i in (1, 2):
        tasks.append(asyncio.create_task(batcher.submit(i)))
        await held.wait_entered(i)
    tasks += [asyncio.create_task(batcher.submit(i)) for i in range(3, 8)]
    await until_depth(batcher, 5)
    stopping = asyncio.create_task(batcher.stop())
    await asyncio.sleep(0)
    with pytest.raises(OverloadedError):
        await batcher.submit(99)
    assert not stopping.done()
    held.release.set()
    await stopping
    assert all(t.done() for t in tasks)
    assert [t.result() for t in tasks] == [i * 10 for i in range(1, 8)]
    assert sorted(x for b in held.batches for x in b) == list(range(1, 8))
    assert max(len(b) for b in held.batches) == 2 and held.peak <= 2
    assert batcher.depth == 0 and not batcher.running


async def test_a_failing_batch_fails_only_its_callers_while_another_runs() -> None:
    held = Held()
    async with MicroBatcher(held, max_batch_size=1, max_concurrent_batches=2) as batcher:
        fine = asyncio.create_task(batcher.submit(1))
        await held.wait_entered(1)
        doomed = asyncio.create_task(batcher.submit(-1))
        await held.wait_entered(2)  # both run at once
        held.release.set()
        assert await fine == 10
        with pytest.raises(ValueError, match="negative"):
            await doomed
        assert list(await asyncio.gather(batcher.submit(2), batcher.submit(3))) == [20, 30]


async def test_results_reach_their_callers_when_batches_finish_out_of_order() -> None:
    second_done = threading.Event()
    finished: list[int] = []

    def fn(xs: Sequence[int]) -> list[int]:
        if xs[0] == 1:  # the first batch waits until the second has finished
            assert second_done.wait(timeout=30)
        finished.append(xs[0])
        second_done.set()
        return [x * 10 for x in xs]

    observer = Recorder()
    async with MicroBatcher(fn, max_batch_size=1, max_concurrent_batches=2, observer=observer) as batcher:
        assert list(await asyncio.gather(batcher.submit(1), batcher.submit(2))) == [10, 20]
    assert finished == [2, 1]
    assert len(observer.batches) == 2


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.integers(0, 1000), max_size=60), size=st.integers(1, 8), slots=st.integers(1, 4))
def test_every_item_answered_once_within_the_limits(values: list[int], size: int, slots: int) -> None:
    lock = threading.Lock()
    state = {"inside": 0, "peak": 0}
    batches: list[list[int]] = []

    def fn(xs: Sequence[int]) -> list[int]:
        with lock:
            state["inside"] += 1
            state["peak"] = max(state["peak"], state["inside"])
            batches.append(list(xs))
        time.sleep(0.0005)  # not a timing assert: lets calls overlap
        with lock:
            state["inside"] -= 1
        return [x * 3 + 1 for x in xs]

    async def run() -> list[int]:
        async with MicroBatcher(fn, max_batch_size=size, max_concurrent_batches=slots,
                                sort_key=lambda x: -x) as batcher:
            return await asyncio.gather(*(batcher.submit(v) for v in values))

    assert asyncio.run(run()) == [v * 3 + 1 for v in values]
    assert sorted(x for b in batches for x in b) == sorted(values)
    assert all(0 < len(b) <= size and b == sorted(b, reverse=True) for b in batches)
    assert state["peak"] <= slots


def test_bad_limit_is_a_config_error() -> None:
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="max_concurrent_batches"):
            MicroBatcher(_times_ten, max_concurrent_batches=bad)


# wiring


def test_setting_from_env_and_command_line() -> None:
    env = from_env({"KGUARD_BATCHER_MAX_CONCURRENT_BATCHES": "2"})
    assert env.batcher.max_concurrent_batches == 2
    args = _serve_args("--max-concurrent-batches", "3", "--max-batch-size", "8")
    cfg = config_from_args(args, env)
    assert cfg.batcher.max_concurrent_batches == 3 and cfg.batcher.max_batch_size == 8
    assert config_from_args(_serve_args(), env).batcher.max_concurrent_batches == 2


def _serve_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def test_library_and_sidecar_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GuardConfig().batcher.max_concurrent_batches == 1  # AsyncGuard: one all-core batch at a time
    assert serve_defaults().batcher.max_concurrent_batches == 2  # kguard serve: two at once
    assert from_env({}, base=serve_defaults()) == serve_defaults()
    assert from_env({"KGUARD_BATCHER_MAX_CONCURRENT_BATCHES": "1"}, base=serve_defaults()).batcher == BatcherConfig()
    monkeypatch.delenv("KGUARD_BATCHER_MAX_CONCURRENT_BATCHES", raising=False)
    assert config_from_args(_serve_args()).batcher.max_concurrent_batches == 2
    monkeypatch.setenv("KGUARD_BATCHER_MAX_CONCURRENT_BATCHES", "1")
    assert config_from_args(_serve_args()).batcher.max_concurrent_batches == 1
    assert config_from_args(_serve_args("--max-concurrent-batches", "4")).batcher.max_concurrent_batches == 4
    assert config_from_args(build_parser().parse_args(["check", "x"])).batcher.max_concurrent_batches == 1


class _HeldEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.held = Held(lambda xs: list(xs))

    def predict(self, inputs: Sequence[EngineInput]) -> list[EngineOutput]:
        self.held(list(range(len(inputs))))
        return super().predict(inputs)


async def test_async_guard_runs_batches_at_once() -> None:
    engine = _HeldEngine()
    config = GuardConfig(batcher=BatcherConfig(max_batch_size=1, max_concurrent_batches=2))
    async with AsyncGuard(engine=engine, config=config) as guard:
        checks = [asyncio.create_task(guard.check(text)) for text in ("우울증 치료 중", "평범한 문장")]
        await engine.held.wait_entered(2)
        engine.held.release.set()
        verdicts = await asyncio.gather(*checks)
    assert [v.categories[:1] for v in verdicts] == [["S1"], []]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


async def test_async_guard_splits_all_cores_between_concurrent_runs(tiny_model_dir: Path) -> None:
    def threads(batches: int, intra: int, sessions: int = 1) -> int:
        config = GuardConfig(engine=EngineConfig(model_dir=tiny_model_dir, intra_op_num_threads=intra,
                                                 sessions=sessions),
                             batcher=BatcherConfig(max_concurrent_batches=batches))
        engine = AsyncGuard(config=config)._p.engine
        return engine.config.intra_op_num_threads  # type: ignore[attr-defined, no-any-return]

    assert threads(1, 0) == 0  # one batch at a time: onnxruntime's own choice, all cores
    assert threads(2, 0) == max(1, _cores() // 2)
    assert threads(2, 3) == 3  # an explicit setting is kept
    assert threads(2, 0, sessions=2) == 0  # a session pool bounds the runs at once itself: no split
    with pytest.raises(ConfigError):
        AsyncGuard(engine=FakeEngine(), config=GuardConfig(batcher=BatcherConfig(max_concurrent_batches=0)))
