"""Every RPC through the real client against a real server on loopback TCP and on a unix socket."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from guard.client import AsyncGuardClient, GuardClient
from guard.policy import Overrides
from guard.taxonomy import CATEGORY_CODES
from guard.verdict import Verdict
from tests.service.conftest import RRN, RRN_TEXT, StartServer


def _assert_rrn_masked(v: Verdict) -> None:
    assert not v.safe
    assert "P1" in v.categories
    assert v.action == "mask"
    assert v.masked is not None and RRN not in v.masked and "900101-1" in v.masked
    rrn = [s for s in v.spans if s.type == "RRN"]
    assert rrn and RRN_TEXT[rrn[0].start:rrn[0].end] == RRN and rrn[0].source == "detector"


async def test_async_client_every_rpc(start_server: StartServer) -> None:
    server = await start_server()
    async with AsyncGuardClient(server.target) as client:
        _assert_rrn_masked(await client.check(RRN_TEXT))

        safe = await client.check("오늘 날씨 좋다", role="assistant", context="hello")
        assert safe.safe and safe.action == "allow" and safe.role == "assistant"
        assert set(safe.scores) == set(CATEGORY_CODES)

        convo = await client.check(messages=[{"role": "user", "content": "hello"},
                                             {"role": "assistant", "content": RRN_TEXT}])
        assert convo.role == "assistant" and "P1" in convo.categories

        plain = await client.check(RRN_TEXT, overrides=Overrides(return_masked=False, return_spans=False))
        assert plain.masked is None and plain.spans == [] and "P1" in plain.categories

        off = await client.check(RRN_TEXT, overrides=Overrides(categories_off=frozenset({"P1"})))
        assert "P1" not in off.categories

        batch = await client.check_batch([RRN_TEXT, "hello world", "우울증 전과"], role="user")
        assert [isinstance(v, Verdict) for v in batch] == [True, True, True]
        _assert_rrn_masked(batch[0])  # type: ignore[arg-type]
        assert batch[1].safe  # type: ignore[union-attr]

        cats = await client.list_categories()
        assert [c.code for c in cats] == list(CATEGORY_CODES)
        assert cats[0].name_ko == "고유식별정보"

        info = await client.model_info()
        assert info.categories == CATEGORY_CODES and len(info.sha256) == 64 and info.provider

        updates = [u async for u in client.check_stream(["제 주민번호는 9001", "01-123", "4568 이에요"])]
        shown = "".join(u.text for u in updates)
        assert RRN not in shown and "900101-1******" in shown
        assert updates[-1].verdict is not None and "P1" in updates[-1].verdict.categories


async def test_sync_client_every_rpc(start_server: StartServer) -> None:
    server = await start_server()

    def calls() -> None:  # blocking calls on a thread; the server keeps running on this loop
        with GuardClient(server.target) as client:
            _assert_rrn_masked(client.check(RRN_TEXT))
            assert client.check("hello world").safe
            batch = client.check_batch([RRN_TEXT, "hello"])
            assert len(batch) == 2
            assert [c.code for c in client.list_categories()] == list(CATEGORY_CODES)
            assert client.model_info().name
            updates = list(client.check_stream(["call me 010-1234-", "5678 please"]))
            shown = "".join(u.text for u in updates)
            assert "010-1234-5678" not in shown and updates[-1].verdict is not None

    await asyncio.to_thread(calls)


async def test_unix_socket_owner_only(start_server: StartServer, tmp_path: Path) -> None:
    sock = tmp_path / "run" / "guard.sock"
    server = await start_server(server={"unix_socket": f"unix://{sock}"})
    assert server.target == f"unix://{sock}" and server.port is None
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    async with AsyncGuardClient(server.target) as client:
        _assert_rrn_masked(await client.check(RRN_TEXT))
    async with AsyncGuardClient(str(sock)) as client:  # a bare path is a socket too
        assert (await client.check("hello")).safe
    await server.stop(grace=0)
    assert not os.path.exists(sock)


@pytest.mark.parametrize("splits", [
    ["제 주민번호는 ", "900101-1234568", " 이에요"],
    ["제 주민번호는 900", "101-", "12345", "68 이에요"],
    list("제 주민번호는 900101-1234568 이에요"),
])
async def test_stream_never_releases_a_split_rrn(start_server: StartServer, splits: list[str]) -> None:
    server = await start_server()
    async with AsyncGuardClient(server.target) as client:
        updates = [u async for u in client.check_stream(splits, role="assistant")]
    assert len(updates) == len(splits) + 1  # one answer per chunk, then the final one
    shown = ""
    for u in updates:
        assert u.start == len(shown)
        shown += u.text
        assert "1234568" not in shown
    assert shown == "제 주민번호는 900101-1****** 이에요"
    final = updates[-1].verdict
    assert final is not None and final.masked == shown and "P1" in final.categories
