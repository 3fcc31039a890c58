"""Clients that misbehave: leaving mid-stream while the model computes, cancelling while queued, sending
slowly, reading slowly. The server frees what they held and keeps serving everyone else.

(tests/service/test_bad_input.py covers a stream cancelled between chunks; these cancel while the
engine is busy with the caller's own text.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
import pytest

from guard._proto.v1 import guard_pb2 as pb
from guard._proto.v1 import guard_pb2_grpc as pb_grpc
from guard.client import AsyncGuardClient
from guard.engine.fake import FakeEngine
from tests.hardening.conftest import wait_until
from tests.service.conftest import Gate, StartServer


def _sample(server: object, name: str, labels: dict[str, str] | None = None) -> float:
    value = server.metrics.registry.get_sample_value(name, labels or {})  # type: ignore[attr-defined]
    return 0.0 if value is None else value


async def test_disconnect_while_the_engine_computes_the_chunk(start_server: StartServer,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate()
    server = await start_server(engine=FakeEngine(fail_on=gate), batcher={"max_wait_s": 0})
    caplog.set_level(logging.DEBUG)
    async with grpc.aio.insecure_channel(server.target) as channel:
        # A whole sentence, so that it is checked at once (an unfinished one is held back unchecked).
        call = pb_grpc.GuardStub(channel).CheckStream(iter([pb.StreamRequest(chunk="hello there friend. ")]))
        await asyncio.to_thread(gate.entered.wait, 10)  # the server is inside the model call for us
        call.cancel()
    gate.open()
    await wait_until(lambda: _sample(server, "guard_inflight_streams") == 0)
    await wait_until(lambda: _sample(server, "guard_requests_total", {
        "rpc": "CheckStream", "role": "assistant", "verdict": "none", "code": "CANCELLED"}) == 1)
    async with AsyncGuardClient(server.target) as client:
        assert (await client.check("still here")).safe
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a leaving client is no bug


async def test_unary_caller_cancelled_while_queued_is_skipped(start_server: StartServer) -> None:
    gate = Gate()
    engine = FakeEngine(fail_on=gate)
    server = await start_server(engine=engine, batcher={"max_batch_size": 1, "max_wait_s": 0})
    async with AsyncGuardClient(server.target, timeout_s=30) as client:
        first = asyncio.create_task(client.check("computing now"))
        await asyncio.to_thread(gate.entered.wait, 10)
        leaver = asyncio.create_task(client.check("caller who leaves"))
        await wait_until(lambda: _sample(server, "guard_queue_depth") == 1)
        leaver.cancel()
        await wait_until(lambda: _sample(server, "guard_requests_total", {
            "rpc": "Check", "role": "user", "verdict": "none", "code": "CANCELLED"}) == 1)
        gate.open()
        assert (await first).safe
        assert (await client.check("next one")).safe
    assert "caller who leaves" not in [item.text for item in engine.seen]  # never computed


async def test_slow_sender_does_not_hold_up_others(start_server: StartServer) -> None:
    server = await start_server()
    more = asyncio.Event()

    async def slow_chunks() -> AsyncIterator[str]:
        yield "제 번호는 010-"
        await more.wait()  # the sender pauses mid-identifier while others are served
        yield "2345-6789 입니다"

    async with AsyncGuardClient(server.target, timeout_s=60) as client:
        stream = client.check_stream(slow_chunks())
        first = await stream.__anext__()
        assert "010" not in first.text  # held back: it may be the start of a number
        verdicts = await asyncio.gather(*(client.check(f"other caller {i}") for i in range(20)))
        assert all(v.safe for v in verdicts)
        more.set()
        rest = [u async for u in stream]
    shown = first.text + "".join(u.text for u in rest)
    assert shown == "제 번호는 010-****-6789 입니다"


async def test_slow_reader_is_flow_controlled_and_others_are_served(start_server: StartServer) -> None:
    server = await start_server(limits={"max_text_chars": 1_000_000})
    chunk = "오늘 날씨가 좋네요 " * 100  # ~1,100 characters, ~3 KB of UTF-8 per answer
    n = 120                           # ~360 KB of answers: more than the HTTP/2 windows hold

    async def requests() -> AsyncIterator[pb.StreamRequest]:
        for _ in range(n):
            yield pb.StreamRequest(chunk=chunk)

    async with grpc.aio.insecure_channel(server.target) as channel:
        call = pb_grpc.GuardStub(channel).CheckStream(requests())
        await wait_until(lambda: _sample(server, "guard_inflight_streams") == 1)
        async with AsyncGuardClient(server.target) as client:  # the stream is not read: others go on
            assert all(v.safe for v in await asyncio.gather(*(client.check(f"x {i}") for i in range(20))))
        texts = [response.text async for response in call]  # the slow reader finally reads it all
    assert "".join(texts) == chunk * n
    await wait_until(lambda: _sample(server, "guard_inflight_streams") == 0)
