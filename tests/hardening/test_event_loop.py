"""CPU-heavy work stays off the event loop: a maximum-size text must not stall every other caller.

Normalizing and scanning 200,000 characters of a pathological pattern (combining marks, zero-width
characters, key prefixes) costs about a second of CPU on a shared 2-core machine. On the event-loop
thread one such request would delay every other caller of the sidecar for that long, so AsyncGuard
runs both on a worker thread for large texts. The first test records which thread runs them (no
timing asserted). The others hold each piece of work on a large payload (parsing a 3.9 MB CheckBatch,
normalizing its texts or a 200,000-character context, fusing the batch's verdicts, turning them into
the answer) until health has answered: that can only happen if the work is off the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import guard._pipeline
from guard import _wire
from guard._proto.v1 import guard_pb2 as pb
from guard._proto.v1 import guard_pb2_grpc as pb_grpc
from guard.detectors.registry import DetectorRegistry
from guard.engine.fake import FakeEngine
from guard.normalize import Normalized, normalize
from guard.sdk import AsyncGuard
from guard.server import interceptors
from tests.service.conftest import StartServer


async def test_large_text_is_normalized_and_scanned_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []
    analyze = DetectorRegistry.analyze

    def recording_normalize(text: str) -> Normalized:
        if len(text) > 10_000:
            threads.append(threading.current_thread())
        return normalize(text)

    def recording_analyze(self: DetectorRegistry, text: str) -> list:  # type: ignore[type-arg]
        if len(text) > 10_000:
            threads.append(threading.current_thread())
        return analyze(self, text)

    monkeypatch.setattr(guard._pipeline, "normalize", recording_normalize)
    monkeypatch.setattr(DetectorRegistry, "analyze", recording_analyze)
    async with AsyncGuard(engine=FakeEngine()) as g:
        await g.check("a\u0301" * 50_000)
    assert threads and all(t is not loop_thread for t in threads)


class Held:
    """Wraps a function: its first call on a large input waits until released (at most 10 s), so a test
    can ask the server something while that work is in progress. If the work ran on the event loop, the
    loop could answer nothing meanwhile and the wait times out (`timed_out`)."""

    def __init__(self, fn: Callable[..., Any], is_large: Callable[..., bool]) -> None:
        self.fn = fn
        self.is_large = is_large
        self.entered = threading.Event()
        self.release = threading.Event()
        self.timed_out = False

    def __call__(self, *args: Any) -> Any:
        if not self.entered.is_set() and self.is_large(*args):
            self.entered.set()
            self.timed_out = not self.release.wait(timeout=10)
        return self.fn(*args)


_PROSE = ("오늘 회의는 세 시에 시작합니다. 자료는 미리 읽어 주세요. " * 200)[:5_000]
_BATCH = pb.CheckBatchRequest(texts=[_PROSE] * 256)  # ~3.9 MB of UTF-8
_CONTEXT = pb.CheckRequest(text="이 답변을 확인해 주세요.", role="assistant", context=(_PROSE * 40)[:200_000])


@pytest.mark.parametrize("work", ["parse-batch", "prepare-batch", "finish-batch", "answer-batch",
                                  "prepare-context"])
async def test_health_answers_while_a_large_payload_is_decoded_and_prepared(
        start_server: StartServer, monkeypatch: pytest.MonkeyPatch, work: str) -> None:
    if work == "parse-batch":
        held = Held(interceptors._parse, lambda parse, body: len(body) > 1_000_000)
        monkeypatch.setattr(interceptors, "_parse", held)
    elif work == "answer-batch":  # 256 verdicts become messages
        held = Held(_wire.batch_to_pb, lambda results: len(results) > 100)
        monkeypatch.setattr(_wire, "batch_to_pb", held)
    elif work == "finish-batch":
        held = Held(DetectorRegistry.analyze, lambda self, text: len(text) > 4_000)
        monkeypatch.setattr(DetectorRegistry, "analyze", lambda self, text: held(self, text))
    else:
        threshold = 4_000 if work == "prepare-batch" else 100_000
        held = Held(normalize, lambda text: len(text) > threshold)
        monkeypatch.setattr(guard._pipeline, "normalize", held)
    server = await start_server(engine=FakeEngine(), server={"max_message_bytes": 8 << 20})
    options = [("grpc.max_send_message_length", 8 << 20), ("grpc.max_receive_message_length", 8 << 20)]
    async with grpc.aio.insecure_channel(server.target, options=options) as channel:
        stub = pb_grpc.GuardStub(channel)
        call = (stub.Check(_CONTEXT, timeout=60) if work == "prepare-context"
                else stub.CheckBatch(_BATCH, timeout=60))
        assert await asyncio.to_thread(held.entered.wait, 30)
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5)
        held.release.set()
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        assert not held.timed_out, f"{work} ran on the event loop: nothing was answered meanwhile"
        await call
