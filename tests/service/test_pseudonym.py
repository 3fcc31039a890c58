"""The pseudonym RPCs on a real server: Pseudonymize, Restore (with and without a check), RestoreStream,
EndSession, sessions bounded and dropped at shutdown, and no value in logs or errors."""

from __future__ import annotations

import asyncio
import logging

import pytest

from guard.client import AsyncGuardClient, GuardClient
from guard.engine.fake import FakeEngine
from guard.errors import InputError, OverloadedError
from guard.taxonomy import SpanType
from guard.vault import VaultLimits
from tests.service.conftest import StartServer

NAME, RRN, PHONE = "홍길동", "900101-1234568", "010-2345-6789"
PROMPT = f"{NAME}입니다. 주민번호 {RRN}, 연락처 {PHONE}"


def _engine() -> FakeEngine:
    return FakeEngine({NAME: "P5"}, spans={NAME: SpanType.PERSON})


async def test_the_grpc_round_trip(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = await start_server(engine=_engine())
    async with AsyncGuardClient(server.target) as client:
        first = await client.pseudonymize(PROMPT)
        assert first.text == "<이름_1>입니다. 주민번호 <RRN_1>, 연락처 <PHONE_1>"
        assert first.session_id and first.replaced == 3 and not first.blocked and first.ttl_s > 0
        assert {s.type for s in first.verdict.spans} == {"PERSON", "RRN", "PHONE"}
        again = await client.pseudonymize(f"{PHONE}로 {NAME}에게", session_id=first.session_id)
        assert again.text == "<PHONE_1>로 <이름_1>에게" and again.session_id == first.session_id
        answer = "< 이름_1 >는 PHONE_1로 연락 주세요. <이름_4>님"
        back = await client.restore(answer, session_id=first.session_id)
        assert back.text == f"{NAME}은 {PHONE}로 연락 주세요. <이름_4>님"
        assert (back.restored, back.unknown, back.verdict) == (2, 1, None)
        checked = await client.restore(answer + " 담당자 010-3456-7890", session_id=first.session_id, check=True,
                                       context=first.text)
        assert checked.text.startswith(f"{NAME}은 {PHONE}로") and "3456-7890" not in checked.text
        assert checked.verdict is not None and "P3" in checked.verdict.categories
        other = await client.pseudonymize(f"{PHONE}")
        assert other.session_id != first.session_id and other.text == "<PHONE_1>"
        assert await client.end_session(first.session_id)
        assert not await client.end_session(first.session_id)
        with pytest.raises(InputError, match="session"):
            await client.restore(answer, session_id=first.session_id)
    logged = caplog.text
    for value in (NAME, RRN, PHONE, "1234568"):
        assert value not in logged


async def test_restore_stream_holds_split_placeholders(start_server: StartServer) -> None:
    server = await start_server(engine=_engine())

    def run() -> list[str]:
        with GuardClient(server.target) as client:
            session = client.pseudonymize(PROMPT).session_id
            answer = "고객 <이름_1>님, 번호 <PHONE_1>으로 안내드립니다. <RRN_1>"
            chunks = [answer[i:i + 2] for i in range(0, len(answer), 2)]
            plain = list(client.restore_stream(chunks, session_id=session))
            checked = list(client.restore_stream(chunks, session_id=session, check=True))
            return ["".join(r.text for r in plain), str(plain[-1].restored),
                    "".join(r.text for r in checked), str(checked[-1].verdict is not None)]

    plain, restored, checked, has_verdict = await asyncio.to_thread(run)
    assert plain == f"고객 {NAME}님, 번호 {PHONE}로 안내드립니다. {RRN}" and restored == "3"
    assert checked == plain and has_verdict == "True"


async def test_a_blocked_text_is_not_pseudonymized(start_server: StartServer) -> None:
    server = await start_server(engine=_engine())
    from guard.policy import Overrides

    async with AsyncGuardClient(server.target) as client:
        out = await client.pseudonymize(PROMPT, overrides=Overrides(actions={"P1": "block"}))
    assert out.blocked and out.text == "" and "P1" in out.verdict.categories


async def test_sessions_are_bounded_and_dropped_at_shutdown(start_server: StartServer) -> None:
    server = await start_server(engine=_engine())
    store = server.vaults
    store.limits, store.max_sessions = VaultLimits(max_entries=2), 2
    async with AsyncGuardClient(server.target) as client:
        first = await client.pseudonymize(f"{PHONE}")
        with pytest.raises(OverloadedError, match="session is full"):
            await client.pseudonymize(PROMPT, session_id=first.session_id)
        await client.pseudonymize(PHONE)
        with pytest.raises(OverloadedError, match="too many"):
            await client.pseudonymize(PHONE)
    assert len(store) == 2 and store.total_bytes > 0
    await server.stop(grace=0)
    assert len(store) == 0 and store.total_bytes == 0
