"""Privacy by design, over gRPC: planted markers through every RPC and every error path, with every
logger at DEBUG; then the captured logs (Python and the process's stderr), the Prometheus exposition
scraped over HTTP, every error status and exception message, and the health/reflection answers are
searched for the markers. Answers may carry the plain WORDS back (masked text is the answer), never
the SECRETS; nothing else may carry either.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
import pytest

from guard._proto.v1 import guard_pb2 as pb
from guard._proto.v1 import guard_pb2_grpc as pb_grpc
from guard.client import AsyncGuardClient, RetryPolicy
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.fake import FakeEngine
from guard.errors import GuardError
from tests.hardening.privacy import PASSWORD, TEXT, WORD, assert_clean, debug_logs
from tests.service.conftest import Gate, StartServer

META = (("x-request-note", TEXT.encode("utf-8").hex()), ("x-user-note", WORD))
Call = Callable[[pb_grpc.GuardStub], Awaitable[Any]]


class _LeakyEngine(FakeEngine):
    """The worst engine: on "ENGINEFAIL" it raises an exception whose message quotes the whole batch."""

    def predict(self, inputs: Sequence[EngineInput]) -> list[EngineOutput]:
        if any("ENGINEFAIL" in i.text for i in inputs):
            raise RuntimeError(f"cannot handle {[i.text for i in inputs]!r} {[i.context for i in inputs]!r}")
        return super().predict(inputs)


def _ov(**kw: Any) -> pb.PolicyOverrides:
    return pb.PolicyOverrides(**kw)


async def _stream(stub: pb_grpc.GuardStub, requests: list[pb.StreamRequest]) -> list[pb.StreamResponse]:
    async def gen() -> AsyncIterator[pb.StreamRequest]:
        for r in requests:
            yield r
    return [r async for r in stub.CheckStream(gen(), metadata=META, timeout=20)]


def _check(**fields: Any) -> Call:
    return lambda s: s.Check(pb.CheckRequest(**fields), metadata=META, timeout=20)


def _batch(**fields: Any) -> Call:
    return lambda s: s.CheckBatch(pb.CheckBatchRequest(**fields), metadata=META, timeout=20)


def _chunks(*requests: pb.StreamRequest) -> Call:
    return lambda s: _stream(s, list(requests))


def _calls() -> dict[str, Call]:
    """Every RPC with the markers, and every bad request the service must refuse without echoing."""
    chunks = [pb.StreamRequest(chunk=TEXT[i:i + 7]) for i in range(0, len(TEXT), 7)]
    long_text = (TEXT + " ") * 40
    user, system = pb.Message(role="user", content=TEXT), pb.Message(role="system", content=TEXT)
    fail = "ENGINEFAIL " + TEXT
    return {
        "check": _check(text=TEXT, context=TEXT),
        "check-messages": _check(messages=[system, user, pb.Message(role="assistant", content=TEXT)]),
        "batch": _batch(texts=[TEXT, " ", TEXT], role="assistant"),
        "stream": _chunks(pb.StreamRequest(config=pb.StreamConfig(role="assistant", context=TEXT)), *chunks),
        "categories": lambda s: s.ListCategories(pb.ListCategoriesRequest(), metadata=META, timeout=20),
        "model-info": lambda s: s.GetModelInfo(pb.GetModelInfoRequest(), metadata=META, timeout=20),
        # error paths
        "bad-role": _check(text=TEXT, role=TEXT),
        "bad-category-on": _check(text=TEXT, overrides=_ov(categories_on=[TEXT])),
        "bad-category-off": _check(text=TEXT, overrides=_ov(categories_off=[WORD])),
        "bad-action": _check(text=TEXT, overrides=_ov(actions={"P1": TEXT})),
        "bad-threshold-key": _check(text=TEXT, overrides=_ov(thresholds={TEXT: 0.5})),
        "bad-threshold": _check(text=TEXT, overrides=_ov(thresholds={"P1": 7.0})),
        "empty": _check(text="  ", context=TEXT),
        "too-long": _check(text=long_text),
        "context-too-long": _check(text=TEXT, context=long_text),
        "too-big-message": _check(text=(TEXT + " ") * 400),
        "batch-too-many": _batch(texts=[TEXT] * 9),
        "batch-bad-role": _batch(texts=[TEXT], role=TEXT),
        "messages-bad-role": _check(messages=[pb.Message(role=TEXT, content=TEXT)]),
        "messages-last-system": _check(messages=[system]),
        "messages-too-many": _check(messages=[user] * 9),
        "both-text-and-messages": _check(text=" ", messages=[user], role=TEXT),
        "stream-config-twice": _chunks(pb.StreamRequest(chunk=TEXT),
                                       pb.StreamRequest(config=pb.StreamConfig(role="user", context=TEXT))),
        "stream-bad-role": _chunks(pb.StreamRequest(config=pb.StreamConfig(role=TEXT), chunk=TEXT)),
        "stream-too-long": _chunks(*[pb.StreamRequest(chunk=TEXT)] * 40),
        "stream-bad-overrides": _chunks(pb.StreamRequest(config=pb.StreamConfig(
            overrides=_ov(actions={TEXT: "mask"})), chunk=TEXT)),
        "engine-failure": _check(text=fail, context=TEXT),
        "engine-failure-batch": _batch(texts=[fail, TEXT]),
        "engine-failure-stream": _chunks(pb.StreamRequest(chunk=fail)),
    }


async def _raw(channel: grpc.aio.Channel, method: str, body: bytes) -> Any:
    """A request body the stubs could not build: undecodable bytes, invalid UTF-8 in a string field."""
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    return await call(body, metadata=META, timeout=20)


def _raw_calls() -> dict[str, Callable[[grpc.aio.Channel], Awaitable[Any]]]:
    text = TEXT.encode("utf-8")
    return {
        "undecodable": lambda c: _raw(c, "/guard.v1.Guard/Check", b"\x0a\xff\xff\xff\x0f" + text),
        "invalid-utf8": lambda c: _raw(c, "/guard.v1.Guard/Check",
                                       b"\x0a" + bytes([len(text) + 2]) + text + b"\xc3\x28"),
        "unknown-method": lambda c: _raw(c, "/guard.v1.Guard/Nope", text),
    }


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code()} {exc.details()} {exc.debug_error_string()} {exc.trailing_metadata()}"
    return f"{type(exc).__name__} {exc} {getattr(exc, 'code', '')}"


async def test_no_marker_leaves_through_any_rpc_or_error(start_server: StartServer,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    answers: list[str] = []
    errors: list[tuple[str, str]] = []
    with debug_logs() as logs:
        model_server = await start_server(server={"metrics_port": 0, "max_message_bytes": 64 * 1024},
                                          limits={"max_text_chars": 2000, "max_batch_items": 4,
                                                  "max_messages": 4})
        leaky_server = await start_server(engine=_LeakyEngine(), server={"metrics_port": 0},
                                          limits={"max_text_chars": 2000})
        for server in (model_server, leaky_server):
            async with grpc.aio.insecure_channel(server.target) as channel:
                stub = pb_grpc.GuardStub(channel)
                for name, call in _calls().items():
                    if name.startswith("engine-failure") != (server is leaky_server):
                        continue
                    try:
                        answers.append(str(await call(stub)))
                    except grpc.aio.AioRpcError as exc:
                        errors.append((name, _error_text(exc)))
                for name, raw in _raw_calls().items():
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await raw(channel)
                    errors.append((name, _error_text(info.value)))
        errors += await _client_errors(model_server.target, leaky_server.target)
        errors += await _deadline_and_overload(start_server)
        metrics = [urllib.request.urlopen(f"http://127.0.0.1:{s.metrics_port}/metrics", timeout=10)
                   .read().decode() for s in (model_server, leaky_server)]
    captured = capfd.readouterr()
    assert len(errors) >= 30, [name for name, _ in errors]  # every error path really failed
    assert any(WORD in a for a in answers) and not any(PASSWORD in a for a in answers)
    assert_clean([("answers", "\n".join(answers))], words=False)  # answers: masked, words may come back
    assert_clean([*errors, ("python logs", "\n".join(logs)), ("stdout", captured.out),
                  ("stderr", captured.err), *(("metrics", m) for m in metrics)])
    assert any("unexpected RuntimeError" in line for line in logs)  # the engine failure was logged


async def _client_errors(target: str, leaky_target: str) -> list[tuple[str, str]]:
    """The SDK client's exceptions carry the server's messages: check them as the caller sees them."""
    out: list[tuple[str, str]] = []
    async with AsyncGuardClient(target, retry=RetryPolicy(max_retries=0)) as client:
        for name, call in {
            "client-bad-role": lambda: client.check(TEXT, role=TEXT),
            "client-empty": lambda: client.check(" ", context=TEXT),
            "client-batch-item": lambda: client.check_batch([TEXT, " "]),
            "client-stream": lambda: _drain(client.check_stream([TEXT], role=TEXT)),
        }.items():
            with pytest.raises(GuardError) as info:
                await call()
            out.append((name, _error_text(info.value)))
    async with AsyncGuardClient(leaky_target, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(GuardError) as info:
            await client.check("ENGINEFAIL " + TEXT)
        out.append(("client-engine-failure", _error_text(info.value)))
    async with AsyncGuardClient("127.0.0.1:1", timeout_s=2, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(GuardError) as info:
            await client.check(TEXT)
        out.append(("client-unreachable", _error_text(info.value)))
    return out


async def _drain(updates: AsyncIterator[Any]) -> None:
    async for _ in updates:
        pass


async def _deadline_and_overload(start_server: StartServer) -> list[tuple[str, str]]:
    gate = Gate()
    server = await start_server(engine=FakeEngine(fail_on=gate),
                                batcher={"max_batch_size": 1, "max_queue": 1, "max_wait_s": 0})
    out: list[tuple[str, str]] = []
    async with AsyncGuardClient(server.target, timeout_s=30, retry=RetryPolicy(max_retries=0)) as client:
        busy = asyncio.create_task(client.check(TEXT))
        await asyncio.to_thread(gate.entered.wait, 10)
        queued = asyncio.create_task(client.check(TEXT, timeout_s=0.5))  # waits, then its deadline passes
        while server.metrics.registry.get_sample_value("guard_queue_depth") < 1:
            await asyncio.sleep(0.01)
        with pytest.raises(GuardError) as info:  # the queue (1) is full
            await client.check(TEXT)
        out.append(("overloaded", _error_text(info.value)))
        with pytest.raises(GuardError) as info:
            await queued
        out.append(("deadline", _error_text(info.value)))
        gate.open()
        await busy
    return out


def test_the_search_finds_every_printed_form() -> None:
    """The search itself: a marker quoted by repr(), escaped or printed as bytes is still found."""
    from tests.hardening.privacy import WORD_KO, leaks

    for blob in (repr(TEXT), TEXT.encode("utf-8").decode("latin-1"), str(TEXT.encode("utf-8")),
                 repr(TEXT.encode("unicode_escape"))):
        found = leaks(blob, (WORD, WORD_KO, PASSWORD))
        assert WORD in found and PASSWORD in found
    assert leaks(str(WORD_KO.encode("utf-8")), (WORD_KO,)) == [WORD_KO]
    assert leaks(repr(WORD_KO.encode("unicode_escape")), (WORD_KO,)) == [WORD_KO]
