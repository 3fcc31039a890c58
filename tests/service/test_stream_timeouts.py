"""Long streams: an LLM answer streams for far longer than one unary call may take. A client stream is
bounded by its idle time (no chunk and no reply), optionally by a total; both clients, real server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from guard.client import AsyncGuardClient, GuardClient
from guard.config import ClientConfig
from guard.errors import DeadlineError
from tests.service.conftest import RRN, StartServer

SECRET_WORD = "비밀단어"
CHUNKS = ["제 주민번호는 ", "900101-", "1234568 ", "이고 ", f"{SECRET_WORD} ", "끝."]


def _paced(gap_s: float, stall: threading.Event | None = None) -> Iterator[str]:
    """CHUNKS, one every `gap_s`; with `stall`, stops after the second chunk until it is set."""
    for i, chunk in enumerate(CHUNKS):
        if i:
            time.sleep(gap_s)
        if stall is not None and i == 2:
            stall.wait(30)
        yield chunk


async def _apaced(gap_s: float, stall: asyncio.Event | None = None) -> AsyncIterator[str]:
    for i, chunk in enumerate(CHUNKS):
        if i:
            await asyncio.sleep(gap_s)
        if stall is not None and i == 2:
            await asyncio.wait_for(stall.wait(), 30)
        yield chunk


def test_the_defaults_live_in_config() -> None:
    defaults = ClientConfig()
    assert defaults.stream_timeout_s is None and defaults.stream_idle_timeout_s is not None
    assert defaults.stream_idle_timeout_s > (defaults.timeout_s or 0)
    client = GuardClient("127.0.0.1:1")
    try:
        assert (client.timeout_s, client.stream_idle_timeout_s, client.stream_timeout_s) == (
            defaults.timeout_s, defaults.stream_idle_timeout_s, defaults.stream_timeout_s)
    finally:
        client.close()


async def test_a_stream_outlives_the_unary_timeout(start_server: StartServer) -> None:
    """Chunks every 0.3 s for 1.5 s with a unary timeout of 0.5 s: the stream finishes."""
    server = await start_server()

    def run() -> str:
        with GuardClient(server.target, timeout_s=0.5, stream_idle_timeout_s=2.0) as client:
            return "".join(u.text for u in client.check_stream(_paced(0.3)))

    assert RRN not in await asyncio.to_thread(run)
    async with AsyncGuardClient(server.target, timeout_s=0.5, stream_idle_timeout_s=2.0) as client:
        updates = [u async for u in client.check_stream(_apaced(0.3))]
    assert updates[-1].verdict is not None and "P1" in updates[-1].verdict.categories


async def test_an_idle_stream_fails_fast_with_deadline_error(start_server: StartServer) -> None:
    server = await start_server()
    stall = threading.Event()

    def run() -> tuple[DeadlineError, float]:
        with GuardClient(server.target) as client:
            started = time.monotonic()
            with pytest.raises(DeadlineError) as info:
                list(client.check_stream(_paced(0.0, stall), idle_timeout_s=0.5))
            return info.value, time.monotonic() - started

    try:
        error, took = await asyncio.to_thread(run)
    finally:
        stall.set()
    assert 0.5 <= took < 5 and "idle" in str(error)
    assert SECRET_WORD not in str(error) and RRN not in str(error)

    astall = asyncio.Event()
    async with AsyncGuardClient(server.target, stream_idle_timeout_s=0.5) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineError, match="idle"):
            _ = [u async for u in client.check_stream(_apaced(0.0, astall))]
        assert time.monotonic() - started < 5
    astall.set()
    async with AsyncGuardClient(server.target) as client:  # the server is fine
        assert (await client.check("still here")).safe


async def test_the_optional_total_bounds_the_whole_stream(start_server: StartServer) -> None:
    server = await start_server()

    def run() -> None:
        with GuardClient(server.target, stream_timeout_s=0.6) as client, pytest.raises(DeadlineError):
            list(client.check_stream(_paced(0.3)))  # 1.5 s of chunks, never idle

    await asyncio.to_thread(run)
    async with AsyncGuardClient(server.target) as client:
        with pytest.raises(DeadlineError):
            _ = [u async for u in client.check_stream(_apaced(0.3), timeout_s=0.6)]


async def test_a_caller_slow_to_read_is_not_idle(start_server: StartServer) -> None:
    """The time an update spends with the caller (rendering it, say) is not the stream's idle time."""
    server = await start_server()

    def run() -> str:
        shown = ""
        with GuardClient(server.target, stream_idle_timeout_s=0.3) as client:
            for update in client.check_stream(iter(CHUNKS)):
                time.sleep(0.5)
                shown += update.text
        return shown

    assert (await asyncio.to_thread(run)).endswith("끝.")
