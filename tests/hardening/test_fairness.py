"""One caller must not starve the others (issue 13, item 3), on a real server over loopback.

* Two maximum-size checks computing at once leave the small checks their own way to the model: small
  checks are answered while both long ones are still inside the engine.
* A long check whose caller has gone (deadline passed, or cancelled) stops computing at its next slice.
* The characters in flight are bounded: beyond the budget new requests get RESOURCE_EXHAUSTED.
* The grace period bounds a shutdown even with a maximum-size text in progress.

The model is FakeEngine, steered by events (a gate that holds long texts inside the engine, or a hook
per slice); what is asserted is an order or a count, never a duration.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from guard.client import AsyncGuardClient, RetryPolicy
from guard.engine.base import EngineInput
from guard.engine.fake import FakeEngine
from guard.errors import GuardError, OverloadedError
from tests.hardening.conftest import wait_until
from tests.service.conftest import RRN_TEXT, StartServer

LONG = ("hello world 전화번호 " * 20_000)[:200_000]  # a maximum-size text
NO_RETRY = RetryPolicy(max_retries=0)


class LongGate:
    """FakeEngine's fail_on hook: holds every batch with a long text inside the engine until opened."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._lock = threading.Lock()
        self.inside = 0

    def __call__(self, batch: Sequence[EngineInput]) -> bool:
        if any(len(item.text) > 100_000 for item in batch):
            with self._lock:
                self.inside += 1
            self._open.wait(timeout=60)
        return False

    def open(self) -> None:
        self._open.set()


async def test_small_checks_are_answered_while_two_long_checks_compute(start_server: StartServer) -> None:
    gate = LongGate()
    server = await start_server(engine=FakeEngine(fail_on=gate), batcher={"max_concurrent_batches": 2})
    try:
        async with AsyncGuardClient(server.target, timeout_s=60, retry=NO_RETRY) as client:
            first = asyncio.create_task(client.check(LONG))
            await wait_until(lambda: gate.inside == 1)
            second = asyncio.create_task(client.check(LONG))
            await wait_until(lambda: gate.inside == 2)  # both long checks are inside the engine
            for _ in range(10):
                verdict = await client.check(RRN_TEXT, timeout_s=10)
                assert "P1" in verdict.categories
            assert not first.done() and not second.done()  # still computing: the small ones went by
            gate.open()
            assert not (await first).safe and not (await second).safe
    finally:
        gate.open()


class FirstSliceHeld:
    """FakeEngine's on_slice hook: the very first slice lasts until released; the others pass."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        if not self.entered.is_set():
            self.entered.set()
            self.release.wait(timeout=60)


@pytest.mark.parametrize("leaves", ["deadline", "cancel"])
async def test_a_long_check_stops_computing_when_its_caller_has_gone(start_server: StartServer,
                                                                    leaves: str) -> None:
    """The caller leaves while its text's first slice computes. A second long check then runs to the end;
    slices take turns one at a time, first come first served, so if the first text were still computing
    its slices would be interleaved with the second's: the count tells."""
    held = FirstSliceHeld()
    engine = FakeEngine(slice_chars=1000, on_slice=held)  # 200 slices per long text
    server = await start_server(engine=engine)
    try:
        async with AsyncGuardClient(server.target, timeout_s=60, retry=NO_RETRY) as client:
            if leaves == "deadline":
                with pytest.raises(GuardError):  # DEADLINE_EXCEEDED
                    await client.check(LONG, timeout_s=1.0)
            else:
                call = asyncio.create_task(client.check(LONG))
                await asyncio.to_thread(held.entered.wait, 30)
                call.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await call
            assert held.entered.is_set()
            await wait_until(lambda: server.metrics.registry.get_sample_value(
                "guard_requests_total", {"rpc": "Check", "role": "user", "verdict": "none",
                                         "code": "DEADLINE_EXCEEDED" if leaves == "deadline" else "CANCELLED"})
                == 1)  # the server saw the caller go
            held.release.set()
            await client.check(LONG)
        assert engine.slices == 1 + 200  # the first text's held slice, then the whole second text
    finally:
        held.release.set()


async def test_characters_in_flight_are_bounded(start_server: StartServer) -> None:
    gate = LongGate()
    server = await start_server(engine=FakeEngine(fail_on=gate), limits={"max_inflight_chars": 300_000})
    try:
        async with AsyncGuardClient(server.target, timeout_s=10, retry=NO_RETRY) as client:
            first = asyncio.create_task(client.check(LONG))
            await wait_until(lambda: gate.inside == 1)
            with pytest.raises(OverloadedError) as info:  # 200,000 + 200,000 > 300,000: shed at once
                await client.check(LONG)
            assert "in flight" in str(info.value)
            assert "P1" in (await client.check(RRN_TEXT)).categories  # small ones still fit
            gate.open()
            assert not (await first).safe
            more = await client.check_batch([LONG[:100_000]] * 2)  # room again once it is done
            assert len(more) == 2
    finally:
        gate.open()
    assert server.metrics.registry.get_sample_value(
        "guard_requests_total", {"rpc": "Check", "role": "user", "verdict": "none",
                                 "code": "RESOURCE_EXHAUSTED"}) == 1


async def test_a_stream_counts_the_text_it_holds_in_flight(start_server: StartServer) -> None:
    gate = LongGate()
    server = await start_server(engine=FakeEngine(fail_on=gate), limits={"max_inflight_chars": 300_000})
    try:
        async with AsyncGuardClient(server.target, timeout_s=10, retry=NO_RETRY) as client:
            first = asyncio.create_task(client.check(LONG))
            await wait_until(lambda: gate.inside == 1)
            with pytest.raises(OverloadedError):
                async for _ in client.check_stream(["hello " * 10_000, "world " * 10_000]):
                    pass
            gate.open()
            await first
    finally:
        gate.open()


async def test_the_grace_period_bounds_shutdown_with_a_maximum_size_text_in_progress(
        start_server: StartServer) -> None:
    """A slow model: 200,000 slices of a millisecond. stop(grace) must return long before they are done."""
    engine = FakeEngine(slice_chars=1, on_slice=lambda: time.sleep(0.001))
    server = await start_server(engine=engine)
    async with AsyncGuardClient(server.target, timeout_s=600, retry=NO_RETRY) as client:
        call = asyncio.create_task(client.check(LONG))
        await wait_until(lambda: engine.slices > 0)
        await asyncio.wait_for(server.stop(grace=0.2), 60)
        stopped_at = engine.slices
        outcome = (await asyncio.gather(call, return_exceptions=True))[0]
    assert isinstance(outcome, GuardError)  # the long check was not answered: it was cut off
    assert 0 < stopped_at < 200_000
    await asyncio.sleep(0.05)
    assert engine.slices <= stopped_at + 1  # and it computes no more (a slice in progress may finish)
