"""GuardedChatClient with the sidecar: a streamed answer moderated through CheckStream (the client's
stream_moderator), sync and async, against a real server on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from guard.client import AsyncGuardClient, GuardClient
from guard.filters import GuardedChatClient
from tests.service.conftest import RRN, StartServer
from tests.unit.test_chat_client import MASKED_RRN, FakeLLM

ANSWER = f"조회해 보니 주민번호는 {RRN} 입니다. 더 필요하신 것이 있나요?"
MASKED = f"조회해 보니 주민번호는 {MASKED_RRN} 입니다. 더 필요하신 것이 있나요?"


def _wrap(llm: FakeLLM, checker: Any, **kw: Any) -> GuardedChatClient:
    from types import SimpleNamespace

    return GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=llm)), checker, **kw)


async def test_sync_client_streams_through_the_sidecar(start_server: StartServer) -> None:
    server = await start_server()

    def run() -> list[str]:
        with GuardClient(server.target) as client:
            llm = FakeLLM(ANSWER, 3)
            stream = _wrap(llm, client).chat.completions.create(model="m", stream=True,
                                                                messages=[{"role": "user", "content": "조회"}])
            return [part.choices[0].delta.content or "" for part in stream]

    parts = await asyncio.to_thread(run)
    shown = ""
    for part in parts:
        shown += part
        assert "1234568" not in shown
    assert shown == MASKED


async def test_async_client_streams_through_the_sidecar(start_server: StartServer) -> None:
    server = await start_server()

    class AsyncLLM(FakeLLM):
        async def create(self, *, messages: list[Any], **kwargs: Any) -> Any:  # type: ignore[override]
            chunks = super().create(messages=messages, **kwargs)

            async def agen() -> Any:
                for c in chunks:
                    yield c
            return agen()

    async with AsyncGuardClient(server.target) as client:
        llm = AsyncLLM(ANSWER, 2)
        stream = await _wrap(llm, client, is_async=True).chat.completions.create(
            model="m", stream=True, messages=[{"role": "user", "content": f"제 번호 {RRN}"}])
        shown = "".join([part.choices[0].delta.content or "" async for part in stream])
    assert shown == MASKED and "1234568" not in llm.sent()
