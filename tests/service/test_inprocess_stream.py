"""Guard.check_stream and AsyncGuard.check_stream behave as the sidecar's CheckStream: one update per
chunk, then the verdict; the same text shown; the same errors. Compared against a real server on
loopback with the same tiny model and limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from guard.client import AsyncGuardClient
from guard.errors import InputError
from guard.policy import Overrides
from guard.sdk import AsyncGuard, Guard
from guard.stream import StreamUpdate
from tests.service.conftest import RRN, StartServer, make_config

TEXT = f"제 주민번호는 {RRN} 이고 전화는 010-1234-5678 입니다."
CASES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "rrn split in three": (["제 주민번호는 9001", "01-123", "4568 이에요"], {}),
    "char by char": (list(TEXT), {}),
    "a prompt with context": (["연락처는 010-12", "34-5678입니다"], {"role": "user", "context": "번호 알려줘"}),
    "blocked": (["안녕 ", f"{RRN} ", "그리고 더."], {"overrides": Overrides(actions={"P1": "block"})}),
    "safe": (["오늘 ", "날씨 ", "좋다"], {}),
}
LIMITS = {"max_text_chars": 120}


async def _agen(chunks: Sequence[str]) -> AsyncIterator[str]:
    for chunk in chunks:
        yield chunk


def _shown(updates: list[StreamUpdate]) -> str:
    shown = ""
    for u in updates:
        assert u.start == len(shown)
        shown += u.text
    return shown


def _final(updates: list[StreamUpdate]) -> tuple[object, ...]:
    v = updates[-1].verdict
    assert v is not None and all(u.verdict is None for u in updates[:-1])
    return v.safe, v.categories, v.action, v.masked, v.role, [(s.start, s.end, s.type) for s in v.spans]


async def test_in_process_streams_match_check_stream(start_server: StartServer, tiny_model_dir: Path) -> None:
    server = await start_server(limits=LIMITS)
    config = make_config(model_dir=tiny_model_dir, limits=LIMITS)
    guard = Guard(config=config)
    async with AsyncGuardClient(server.target) as client, AsyncGuard(config=config) as aguard:
        for name, (chunks, kw) in CASES.items():
            remote = [u async for u in client.check_stream(chunks, **kw)]
            local = list(guard.check_stream(chunks, **kw))
            from_async = [u async for u in aguard.check_stream(_agen(chunks), **kw)]
            from_list = [u async for u in aguard.check_stream(chunks, **kw)]
            for got in (local, from_async, from_list):
                assert len(got) == len(remote) == len(chunks) + 1, name
                assert _final(got) == _final(remote), name
                if remote[-1].verdict.action == "block":  # type: ignore[union-attr]
                    # what was shown before the block depends on how the server grouped the chunks
                    assert got[-1].blocked and RRN not in _shown(got), name
                else:
                    assert _shown(got) == _shown(remote), name
            assert RRN not in _shown(remote) and "1234-5678" not in _shown(remote), name


async def test_in_process_streams_raise_what_check_stream_raises(start_server: StartServer,
                                                                 tiny_model_dir: Path) -> None:
    server = await start_server(limits=LIMITS)
    config = make_config(model_dir=tiny_model_dir, limits=LIMITS)
    guard = Guard(config=config)
    bad: dict[str, tuple[list[str], dict[str, Any]]] = {
        "no text": ([], {}),
        "only spaces": (["  ", " "], {}),
        "bad role": (["hello"], {"role": "robot"}),
        "over the limit": (["가" * 100, "나" * 30], {}),
    }
    async with AsyncGuardClient(server.target) as client, AsyncGuard(config=config) as aguard:
        for chunks, kw in bad.values():
            with pytest.raises(InputError):
                _ = [u async for u in client.check_stream(chunks, **kw)]
            with pytest.raises(InputError):
                list(guard.check_stream(chunks, **kw))
            with pytest.raises(InputError):
                _ = [u async for u in aguard.check_stream(_agen(chunks), **kw)]
