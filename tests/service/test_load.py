"""Batching across callers, deadlines, load shedding, engine failures and graceful drain."""

from __future__ import annotations

import asyncio

import pytest

from guard.client import AsyncGuardClient, RetryPolicy
from guard.engine.base import EngineInput
from guard.engine.fake import FakeEngine
from guard.errors import DeadlineError, GuardError, OverloadedError, ServiceError
from guard.verdict import Verdict
from tests.service.conftest import Gate, StartServer


async def test_64_concurrent_callers_share_batches(start_server: StartServer) -> None:
    server = await start_server(batcher={"max_batch_size": 64, "max_wait_s": 0.05})
    texts = [f"call me 010-1234-5678 number {i}" if i % 2 else f"hello world {i}" for i in range(64)]
    async with AsyncGuardClient(server.target) as client:
        verdicts = await asyncio.gather(*(client.check(t) for t in texts))
    for i, (text, v) in enumerate(zip(texts, verdicts, strict=True)):
        assert v.masked is not None and v.masked.endswith(str(i))  # its own answer
        assert v.safe == (i % 2 == 0)
        if v.safe:
            assert v.masked == text
        if i % 2:
            assert "P3" in v.categories and "010-1234-5678" not in v.masked
    reg = server.metrics.registry
    batches = reg.get_sample_value("guard_batch_size_count")
    assert reg.get_sample_value("guard_batch_size_sum") == 64
    assert batches is not None and batches < 64  # some model call held more than one caller
    assert reg.get_sample_value("guard_batch_size_bucket", {"le": "1.0"}) < batches
    assert reg.get_sample_value("guard_queue_wait_seconds_count") == 64
    assert reg.get_sample_value("guard_requests_total", {"rpc": "Check", "role": "user",
                                                         "verdict": "unsafe", "code": "OK"}) == 32
    assert reg.get_sample_value("guard_detections_total", {"category": "P3", "role": "user",
                                                           "action": "mask", "source": "detector"}) == 32


async def test_expired_request_is_dropped_not_computed(start_server: StartServer) -> None:
    gate = Gate()
    engine = FakeEngine(fail_on=gate)
    server = await start_server(engine=engine, batcher={"max_batch_size": 1})
    async with AsyncGuardClient(server.target) as client:
        blocker = asyncio.create_task(client.check("first one", timeout_s=30))
        await asyncio.to_thread(gate.entered.wait, 10)  # the engine is busy with the first text
        with pytest.raises(DeadlineError):
            await client.check("expires while queued", timeout_s=0.2)
        gate.open()
        assert (await blocker).safe
        assert (await client.check("after")).safe
    seen = [item.text for item in engine.seen]
    assert "expires while queued" not in seen and "first one" in seen and "after" in seen


async def test_full_queue_sheds_load(start_server: StartServer) -> None:
    gate = Gate()
    server = await start_server(engine=FakeEngine(fail_on=gate),
                                batcher={"max_batch_size": 1, "max_queue": 2, "max_wait_s": 0})
    async with AsyncGuardClient(server.target, timeout_s=30) as client:
        first = asyncio.create_task(client.check("computing"))
        await asyncio.to_thread(gate.entered.wait, 10)
        queued = [asyncio.create_task(client.check(f"queued {i}")) for i in range(2)]
        while server.metrics.registry.get_sample_value("guard_queue_depth") < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(OverloadedError):
            await client.check("one too many")
        gate.open()
        results = await asyncio.gather(first, *queued)
        assert all(isinstance(r, Verdict) for r in results)
    assert server.metrics.registry.get_sample_value(
        "guard_requests_total", {"rpc": "Check", "role": "user", "verdict": "none",
                                 "code": "RESOURCE_EXHAUSTED"}) == 1


async def test_engine_failure_is_internal_and_server_survives(start_server: StartServer) -> None:
    def fail_on(batch: list[EngineInput]) -> bool:
        return any("boom" in item.text for item in batch)

    server = await start_server(engine=FakeEngine(fail_on=fail_on), batcher={"max_wait_s": 0})
    async with AsyncGuardClient(server.target) as client:
        with pytest.raises(ServiceError) as info:
            await client.check("boom 900101")
        assert info.value.code == "INTERNAL" and "boom" not in str(info.value)
        assert (await client.check("hello")).safe


async def test_graceful_drain_answers_everything_accepted(start_server: StartServer) -> None:
    gate = Gate()
    server = await start_server(engine=FakeEngine(fail_on=gate),
                                batcher={"max_batch_size": 4, "max_wait_s": 0})
    async with AsyncGuardClient(server.target, timeout_s=30, retry=RetryPolicy(max_retries=0)) as client:
        accepted = [asyncio.create_task(client.check("text 0"))]
        await asyncio.to_thread(gate.entered.wait, 10)  # the engine holds "text 0" alone
        accepted += [asyncio.create_task(client.check(f"text {i}")) for i in range(1, 10)]
        while server.metrics.registry.get_sample_value("guard_queue_depth") < 9:
            await asyncio.sleep(0.01)  # all ten are accepted before the drain starts
        stopping = asyncio.create_task(server.stop(grace=20))
        await asyncio.sleep(0.2)  # let the server stop accepting before the late caller arrives
        with pytest.raises(GuardError):
            await client.check("too late")
        gate.open()
        results = await asyncio.gather(*accepted)
        await stopping
    assert [r.masked for r in results] == [f"text {i}" for i in range(10)]


async def test_client_retries_until_the_server_is_up(start_server: StartServer) -> None:
    import socket

    with socket.socket() as s:  # a free port nobody listens on yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = AsyncGuardClient(f"127.0.0.1:{port}", timeout_s=30,
                              retry=RetryPolicy(max_retries=20, backoff_s=0.05, max_backoff_s=0.2))
    call = asyncio.create_task(client.check("hello"))
    await asyncio.sleep(0.3)
    assert not call.done()
    await start_server(server={"port": port})
    assert (await call).safe
    await client.close()
    with pytest.raises(ServiceError) as info:
        async with AsyncGuardClient("127.0.0.1:1", timeout_s=5, retry=RetryPolicy(max_retries=2)) as c:
            await c.check("hello")
    assert info.value.code == "UNAVAILABLE"
