"""CheckStream reads ahead: chunks that arrive while a check runs are answered with empty updates and
checked together with the latest one, so a fast producer does not queue one check per chunk.

The servicer is driven directly (no transport) so that the order of arrivals is exact: the first
chunk's check is held in the engine (Gate) while the rest of the stream arrives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from guard._proto.v1 import guard_pb2 as pb
from guard.config import LimitsConfig
from guard.engine.fake import FakeEngine
from guard.errors import InputError
from guard.sdk import AsyncGuard
from guard.server.service import GuardService
from tests.service.conftest import RRN, Gate


class _Context:
    """The one ServicerContext method CheckStream uses."""

    def time_remaining(self) -> float | None:
        return None


async def test_chunks_that_arrive_during_a_check_are_checked_once_together() -> None:
    gate = Gate()
    engine = FakeEngine(fail_on=gate)
    first = "고객님 안내드립니다. 주민번호는 "
    rest = [RRN[:4], RRN[4:9], RRN[9:], " 이고 ", "확인되었습니다."]
    more, sent_all = asyncio.Event(), asyncio.Event()

    async def requests() -> AsyncIterator[pb.StreamRequest]:
        yield pb.StreamRequest(config=pb.StreamConfig(role="assistant"), chunk=first)
        await more.wait()
        for chunk in rest:
            yield pb.StreamRequest(chunk=chunk)
        sent_all.set()

    async with AsyncGuard(engine=engine) as guard:
        before = len(engine.batch_sizes)
        service = GuardService(lambda: guard, LimitsConfig())
        stream = service.CheckStream(requests(), _Context())  # type: ignore[arg-type]
        first_update = asyncio.ensure_future(anext(stream))
        assert await asyncio.to_thread(gate.entered.wait, 30)  # the first chunk's check is in the engine
        more.set()
        await sent_all.wait()  # the reader has taken every request (and the end) off the stream
        gate.open()
        updates = [await first_update] + [u async for u in stream]

    assert len(engine.batch_sizes) - before == 2  # the first chunk, then the whole answer at the end
    assert len(updates) == 1 + len(rest) + 1
    assert all(u.text == "" for u in updates[1:-1])  # answered at once, released by the final check
    unfinished = len("주민번호는 ")  # the first chunk's unfinished sentence is held with the rest
    assert [u.held for u in updates[1:-1]] == [unfinished + sum(map(len, rest[:i + 1])) for i in range(len(rest))]
    shown = "".join(u.text for u in updates)
    assert RRN not in shown and shown.startswith(first) and shown.endswith("확인되었습니다.")
    assert updates[-1].HasField("verdict") and "P1" in updates[-1].verdict.categories


async def test_reading_ahead_stops_at_the_stream_limit() -> None:
    gate = Gate()
    more = asyncio.Event()
    pulled = 0
    chunk = "가" * 58 + ". "  # a whole sentence: released at once

    async def requests() -> AsyncIterator[pb.StreamRequest]:
        nonlocal pulled
        for k in range(50):  # 50 x 60 characters against a limit of 100
            if k == 1:
                await more.wait()
            pulled += 1
            yield pb.StreamRequest(chunk=chunk)

    async with AsyncGuard(engine=FakeEngine(fail_on=gate)) as guard:
        service = GuardService(lambda: guard, LimitsConfig(max_text_chars=100))
        stream = service.CheckStream(requests(), _Context())  # type: ignore[arg-type]
        first_update = asyncio.ensure_future(anext(stream))
        assert await asyncio.to_thread(gate.entered.wait, 30)  # the first chunk's check is in the engine
        more.set()
        for _ in range(100):  # let the reader run as far as it will
            await asyncio.sleep(0)
        assert pulled == 2  # the chunk past the limit is the last one read; nothing more waits in memory
        gate.open()
        assert (await first_update).text == chunk
        with pytest.raises(InputError, match="exceeds the limit of 100"):
            await anext(stream)
        # Before its status went out, the client's remaining writes were read and dropped: a grpc.aio
        # client whose write fails after the call has ended reports INTERNAL instead (grpc/grpc#36066).
        assert pulled == 50


async def test_a_failed_stream_answers_a_client_that_has_gone_quiet() -> None:
    """A client that waits for an answer before it writes again gets its error, without a half-close."""
    quiet = asyncio.Event()

    async def requests() -> AsyncIterator[pb.StreamRequest]:
        yield pb.StreamRequest(config=pb.StreamConfig(role="robot"), chunk="안녕하세요")
        await quiet.wait()  # never set: the client sends nothing more and does not half-close

    async with AsyncGuard(engine=FakeEngine()) as guard:
        service = GuardService(lambda: guard, LimitsConfig())
        stream = service.CheckStream(requests(), _Context())  # type: ignore[arg-type]
        with pytest.raises(InputError, match="role"):
            await asyncio.wait_for(anext(stream), 30)
