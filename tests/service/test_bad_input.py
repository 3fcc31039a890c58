"""Bad input over the wire: the fitting status, a message that never repeats the text, and the server
keeps serving everyone else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from guard._proto.v1 import guard_pb2 as pb
from guard._proto.v1 import guard_pb2_grpc as pb_grpc
from guard.client import AsyncGuardClient
from guard.errors import GuardError, InputError, TooLargeError
from guard.policy import Overrides
from guard.sdk import AsyncGuard
from tests.service.conftest import RRN_TEXT, StartServer

SECRET = "비밀-9f3c2a"  # a marker that must never come back in an error


async def _still_serving(client: AsyncGuardClient) -> None:
    assert "P1" in (await client.check(RRN_TEXT)).categories


@pytest.mark.parametrize("call", [
    lambda c: c.check(""),
    lambda c: c.check("   \n"),
    lambda c: c.check(SECRET, role="robot"),
    lambda c: c.check(messages=[{"role": "wizard", "content": SECRET}]),
    lambda c: c.check(messages=[{"role": "system", "content": SECRET}]),
    lambda c: c.check(SECRET, overrides=Overrides(categories_on=frozenset({"P9"}))),
    lambda c: c.check(SECRET, overrides=Overrides(categories_off=frozenset({SECRET}))),
    lambda c: c.check(SECRET, overrides=Overrides(thresholds={"P1": 1.5})),
    lambda c: c.check(SECRET, overrides=Overrides(actions={"P1": "explode"})),
    lambda c: c.check(SECRET * 20),  # over max_text_chars
    lambda c: c.check_batch([SECRET] * 9),  # over max_batch_items
    lambda c: c.check_batch([SECRET], role="robot"),
], ids=["empty", "blank", "role", "message-role", "last-system", "category-on", "category-off",
        "threshold", "action", "too-long", "batch-too-big", "batch-role"])
async def test_invalid_argument(start_server: StartServer, call: object) -> None:
    server = await start_server(limits={"max_text_chars": 100, "max_batch_items": 8})
    async with AsyncGuardClient(server.target) as client:
        with pytest.raises(InputError) as info:
            await call(client)  # type: ignore[operator]
        assert SECRET not in str(info.value) and str(info.value)
        await _still_serving(client)
    codes = {s.labels["code"] for m in server.metrics.registry.collect() if m.name == "guard_requests"
             for s in m.samples if s.name == "guard_requests_total" and s.value}
    assert codes == {"INVALID_ARGUMENT", "OK"}

async def test_bad_batch_item_does_not_fail_the_others(start_server: StartServer) -> None:
    server = await start_server()
    async with AsyncGuardClient(server.target) as client:
        results = await client.check_batch([RRN_TEXT, "  ", "hello"], return_exceptions=True)
        assert isinstance(results[1], InputError) and "item 1" in str(results[1])
        assert not isinstance(results[0], GuardError) and "P1" in results[0].categories
        with pytest.raises(InputError):
            await client.check_batch([RRN_TEXT, "  "])


async def test_oversized_message(start_server: StartServer) -> None:
    server = await start_server(server={"max_message_bytes": 4096})
    async with AsyncGuardClient(server.target) as client:
        with pytest.raises(TooLargeError) as info:  # gRPC's own RESOURCE_EXHAUSTED for size: no overload
            await client.check(SECRET * 1000)
        assert SECRET not in str(info.value) and "too large" in str(info.value)
        await _still_serving(client)


async def _raw_stream(target: str, requests: list[pb.StreamRequest]) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(target) as channel:
        call = pb_grpc.GuardStub(channel).CheckStream(iter(requests))
        try:
            async for _ in call:
                pass
        except grpc.aio.AioRpcError as exc:
            assert SECRET not in (exc.details() or "")
            return exc.code()
        return grpc.StatusCode.OK


async def test_stream_errors(start_server: StartServer) -> None:
    server = await start_server(limits={"max_text_chars": 100})
    assert await _raw_stream(server.target, []) == grpc.StatusCode.INVALID_ARGUMENT  # sent nothing
    only_config = [pb.StreamRequest(config=pb.StreamConfig(role="assistant"))]
    assert await _raw_stream(server.target, only_config) == grpc.StatusCode.INVALID_ARGUMENT
    twice = [pb.StreamRequest(chunk=SECRET), pb.StreamRequest(config=pb.StreamConfig(role="user"))]
    assert await _raw_stream(server.target, twice) == grpc.StatusCode.INVALID_ARGUMENT
    bad_role = [pb.StreamRequest(config=pb.StreamConfig(role="robot"), chunk=SECRET)]
    assert await _raw_stream(server.target, bad_role) == grpc.StatusCode.INVALID_ARGUMENT
    too_long = [pb.StreamRequest(chunk=SECRET * 5) for _ in range(5)]
    assert await _raw_stream(server.target, too_long) == grpc.StatusCode.INVALID_ARGUMENT
    async with AsyncGuardClient(server.target) as client:
        await _still_serving(client)


async def test_stream_disconnect_half_way(start_server: StartServer) -> None:
    server = await start_server()
    release = asyncio.Event()

    async def chunks() -> AsyncIterator[pb.StreamRequest]:
        yield pb.StreamRequest(chunk="hello. ")  # a whole sentence: released at once
        await release.wait()  # never set: the client goes away mid-stream
        yield pb.StreamRequest(chunk="world")

    async with grpc.aio.insecure_channel(server.target) as channel:
        call = pb_grpc.GuardStub(channel).CheckStream(chunks())
        first = await call.read()
        assert first.text == "hello. "
        call.cancel()
    for _ in range(200):  # the server notices the cancel and closes the stream
        if server.metrics.registry.get_sample_value("guard_inflight_streams") == 0:
            break
        await asyncio.sleep(0.01)
    assert server.metrics.registry.get_sample_value("guard_inflight_streams") == 0
    assert server.metrics.registry.get_sample_value(
        "guard_requests_total",
        {"rpc": "CheckStream", "role": "assistant", "verdict": "none", "code": "CANCELLED"}) == 1
    async with AsyncGuardClient(server.target) as client:
        await _still_serving(client)


def _requests_by_code(server: object, rpc: str) -> dict[str, float]:
    registry = server.metrics.registry  # type: ignore[attr-defined]
    return {s.labels["code"]: s.value for m in registry.collect() if m.name == "guard_requests"
            for s in m.samples if s.name == "guard_requests_total" and s.labels["rpc"] == rpc and s.value}


async def _counted(server: object, rpc: str, expected: dict[str, float]) -> None:
    """The server counts a call as its handler ends, which may be just after the client has the status."""
    for _ in range(500):
        if _requests_by_code(server, rpc) == expected:
            return
        await asyncio.sleep(0.01)
    assert _requests_by_code(server, rpc) == expected


_BAD_UTF8 = b"\x0a\x05ab\xc3\x28c"  # field 1 (text / chunk), 5 bytes, "\xc3\x28" is not UTF-8


async def test_invalid_utf8_in_check_is_invalid_argument_and_counted(start_server: StartServer,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    server = await start_server()
    async with grpc.aio.insecure_channel(server.target) as channel:
        check = channel.unary_unary("/guard.v1.Guard/Check", request_serializer=None,
                                    response_deserializer=None)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await check(_BAD_UTF8, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in (info.value.details() or "")
    await _counted(server, "Check", {"INVALID_ARGUMENT": 1})
    assert "Traceback" not in caplog.text
    async with AsyncGuardClient(server.target) as client:
        await _still_serving(client)


async def test_invalid_utf8_in_a_stream_is_invalid_argument_and_counted(
        start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    server = await start_server()
    good = pb.StreamRequest(chunk="hello ").SerializeToString()
    async with grpc.aio.insecure_channel(server.target) as channel:
        stream = channel.stream_stream("/guard.v1.Guard/CheckStream", request_serializer=None,
                                       response_deserializer=None)
        call = stream(iter([good, b"\x12\x03a\xff" + b"b"]), timeout=10)  # field 2 (chunk): bad UTF-8
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in call:
                pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await _counted(server, "CheckStream", {"INVALID_ARGUMENT": 1})
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_stream_of_many_empty_chunks_is_refused_by_its_message_count(start_server: StartServer) -> None:
    server = await start_server(limits={"max_stream_messages": 100})
    ok = [pb.StreamRequest(chunk="hello")] + [pb.StreamRequest(chunk="")] * 99
    assert await _raw_stream(server.target, ok) == grpc.StatusCode.OK
    empty = ok + [pb.StreamRequest(chunk="")]  # one more message, no more characters: the count stops it
    assert await _raw_stream(server.target, empty) == grpc.StatusCode.INVALID_ARGUMENT


async def test_too_many_batch_items_are_refused_before_the_guard_sees_them(
        start_server: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """400,000 empty items: refused from the count alone, before they become 400,000 Python strings."""
    reached: list[int] = []
    real = AsyncGuard.check_batch

    async def spy(self: AsyncGuard, texts: object, **kw: object) -> object:
        reached.append(len(texts))  # type: ignore[arg-type]
        return await real(self, texts, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(AsyncGuard, "check_batch", spy)
    server = await start_server()
    async with grpc.aio.insecure_channel(server.target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await pb_grpc.GuardStub(channel).CheckBatch(pb.CheckBatchRequest(texts=[""] * 400_000), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "400000 items exceeds the limit of 256" in (info.value.details() or "")
    assert reached == []
