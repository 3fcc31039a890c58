"""Engine failures during serving: only the failed batch's callers get INTERNAL; the server keeps serving.

The FakeEngine's `fail_on` hook sees every batch before it runs, so the test knows exactly which callers
shared the failing batch, however the concurrent calls were ordered on the way in.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from guard.client import AsyncGuardClient, RetryPolicy
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.fake import FakeEngine
from guard.errors import ServiceError
from guard.verdict import Verdict
from tests.hardening.conftest import wait_until
from tests.service.conftest import StartServer


class _Recorder:
    """fail_on hook: holds the first batch until released, records every batch, fails those with "boom"."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, batch: Sequence[EngineInput]) -> bool:
        self.entered.set()
        self.release.wait(timeout=30)
        with self._lock:
            self.batches.append([item.text for item in batch])
        return any("boom" in item.text for item in batch)


async def test_only_the_failing_batch_gets_internal(start_server: StartServer) -> None:
    recorder = _Recorder()
    server = await start_server(engine=FakeEngine(fail_on=recorder),
                                batcher={"max_batch_size": 4, "max_wait_s": 0.01})
    texts = [f"caller {i}" + (" boom" if i == 9 else "") for i in range(16)]
    async with AsyncGuardClient(server.target, timeout_s=30, retry=RetryPolicy(max_retries=0)) as client:
        first = asyncio.create_task(client.check("opening call"))
        await asyncio.to_thread(recorder.entered.wait, 10)
        calls = [asyncio.create_task(client.check(t)) for t in texts]
        await wait_until(lambda: server.metrics.registry.get_sample_value("guard_queue_depth") == 16)
        recorder.release.set()
        results = await asyncio.gather(first, *calls, return_exceptions=True)
        assert (await client.check("after the failure")).safe  # the server keeps serving
    failing = next(b for b in recorder.batches if any("boom" in t for t in b))
    assert 1 <= len(failing) <= 4
    for text, result in zip(["opening call", *texts], results, strict=True):
        if text in failing:
            assert isinstance(result, ServiceError) and result.code == "INTERNAL"
            assert "caller" not in str(result)
        else:
            assert isinstance(result, Verdict), (text, result)
    assert server.metrics.registry.get_sample_value(
        "guard_requests_total", {"rpc": "Check", "role": "user", "verdict": "none",
                                 "code": "INTERNAL"}) == len(failing)


class _ShortEngine(FakeEngine):
    """Returns one result too few for batches holding "short": a broken engine invariant."""

    def predict(self, inputs: Sequence[EngineInput]) -> list[EngineOutput]:
        out = super().predict(inputs)
        return out[:-1] if any("short" in i.text for i in inputs) else out


async def test_wrong_result_count_fails_that_batch_only(start_server: StartServer) -> None:
    server = await start_server(engine=_ShortEngine(), batcher={"max_wait_s": 0})
    async with AsyncGuardClient(server.target, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(ServiceError) as info:
            await client.check("short answer please")
        assert info.value.code == "INTERNAL"
        assert (await client.check("a normal one")).safe


async def test_repeated_failures_do_not_wear_the_server_down(start_server: StartServer) -> None:
    server = await start_server(engine=FakeEngine(fail_on=lambda b: any("boom" in i.text for i in b)),
                                batcher={"max_wait_s": 0})
    async with AsyncGuardClient(server.target, retry=RetryPolicy(max_retries=0)) as client:
        for round_ in range(3):
            outcomes = await asyncio.gather(*(client.check(f"boom {round_} {i}") for i in range(20)),
                                            return_exceptions=True)
            assert all(isinstance(o, ServiceError) and o.code == "INTERNAL" for o in outcomes)
            assert (await client.check(f"fine {round_}")).safe
    assert server.metrics.registry.get_sample_value("guard_queue_depth") == 0
