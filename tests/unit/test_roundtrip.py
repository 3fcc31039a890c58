"""The pseudonymize round trip through the LLM filters: the LLM (a fake that records everything it
receives) never sees an original value, and the caller gets the real values back, streamed or not."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from guard import BlockedError, Guard, GuardedChatClient, aguard_llm, guard_llm
from guard.detectors.registry import DetectorRegistry
from guard.engine.fake import FakeEngine
from guard.fakes import digits_of
from guard.policy import Policy
from guard.pseudonymize import PseudonymStyle
from guard.roundtrip import PseudonymSession
from guard.sdk import AsyncGuard
from guard.taxonomy import SpanType

NAME, RRN, PHONE, EMAIL = "홍길동", "900101-1234568", "010-2345-6789", "gildong.hong@naver.com"
PROMPT = f"{NAME}입니다. 주민번호 {RRN}, 연락처 {PHONE}, 메일 {EMAIL}로 답장 부탁해요"
ORIGINALS = (NAME, RRN, PHONE, EMAIL)


def _engine() -> FakeEngine:
    return FakeEngine({NAME: "P5", "김철수": "P5"}, spans={NAME: SpanType.PERSON, "김철수": SpanType.PERSON})


def _guard(fake: bool = False) -> Guard:
    styles = dict.fromkeys(("P1", "P2", "P3", "P5"), PseudonymStyle.FAKE) if fake else {}
    return Guard(engine=_engine(), policy=Policy(pseudonyms=styles))


def _leaks(received: str) -> list[str]:
    found = [v for v in ORIGINALS if v in received]
    found += [v for v in (RRN, PHONE) if digits_of(v) in digits_of(received)]
    return found


class EchoLLM:
    """Answers with what it received, wrapped: every pseudonym comes back (with particles after it)."""

    def __init__(self, extra: str = "") -> None:
        self.received: list[str] = []
        self.extra = extra

    def __call__(self, prompt: str) -> str:
        self.received.append(prompt)
        return f"확인했습니다: {prompt}{self.extra}"


@pytest.mark.parametrize("fake", [False, True])
def test_guard_llm_round_trip(fake: bool) -> None:
    llm = EchoLLM()
    ask = guard_llm(llm, _guard(fake), pseudonymize=True)
    answer = ask(PROMPT)
    assert answer == f"확인했습니다: {PROMPT}"
    assert len(llm.received) == 1 and not _leaks(llm.received[0])


def test_placeholders_reach_the_llm_and_particles_follow_the_real_value() -> None:
    llm = EchoLLM(" <이름_1>는 PHONE_1로 연락 주세요. <이름_9>님?")
    answer = guard_llm(llm, _guard(), pseudonymize=True)(PROMPT)
    assert llm.received[0].startswith("<이름_1>입니다. 주민번호 <RRN_1>, 연락처 <PHONE_1>")
    assert answer.endswith(f" {NAME}은 {PHONE}로 연락 주세요. <이름_9>님?")


def test_fakes_look_real_to_the_llm_and_are_not_masked_as_personal_data() -> None:
    llm = EchoLLM()
    guard_llm(llm, _guard(fake=True), pseudonymize=True)(PROMPT)
    sent = llm.received[0]
    found = {m.type for m in DetectorRegistry.default().analyze(sent)}
    assert {SpanType.RRN, SpanType.PHONE, SpanType.EMAIL} <= found  # valid check digits, real shapes
    assert re.match(r"[가-힣]{3}입니다", sent) and not sent.startswith(NAME)


def test_new_personal_data_in_the_answer_is_still_masked() -> None:
    answer = guard_llm(EchoLLM(" 상담원 번호는 010-3456-7890"), _guard(), pseudonymize=True)(PROMPT)
    assert answer.startswith(f"확인했습니다: {PROMPT}") and "3456-7890" not in answer


def test_a_blocked_prompt_never_reaches_the_llm() -> None:
    llm = EchoLLM()
    with pytest.raises(BlockedError):
        guard_llm(llm, Guard(engine=_engine(), policy=Policy.strict()), pseudonymize=True)(PROMPT)
    assert llm.received == []


def test_a_session_is_consistent_and_dropped() -> None:
    session = PseudonymSession(_guard())
    a = session.pseudonymize(f"{NAME} {PHONE}")
    b = session.pseudonymize(f"다시 {PHONE}, {NAME}")
    assert (a, b) == ("<이름_1> <PHONE_1>", "다시 <PHONE_1>, <이름_1>")
    session.close()
    assert session.restore("<PHONE_1>").text == "<PHONE_1>" and len(session.vault) == 0


async def test_aguard_llm_round_trip() -> None:
    received: list[str] = []

    async def llm(prompt: str) -> str:
        received.append(prompt)
        return f"네: {prompt}"

    async with AsyncGuard(engine=_engine(), policy=Policy(pseudonyms={"P3": PseudonymStyle.FAKE})) as guard:
        answer = await aguard_llm(llm, guard, pseudonymize=True)(PROMPT)
    assert answer == f"네: {PROMPT}" and not _leaks(received[0])


class ChatLLM:
    """openai's `client.chat.completions` shape: records every request, echoes the last user turn."""

    def __init__(self, chunk: int = 3) -> None:
        self.requests: list[Any] = []
        self.chunk = chunk

    def _answer(self, messages: list[Any]) -> str:
        return "답변: " + [m for m in messages if m["role"] == "user"][-1]["content"] + " <이름_1>님 감사합니다"

    def create(self, *, messages: list[Any], **kwargs: Any) -> Any:
        self.requests.append(json.loads(json.dumps(messages)))
        answer = self._answer(messages)
        if kwargs.get("stream"):
            return self._chunks(answer)
        message = SimpleNamespace(role="assistant", content=answer)
        return SimpleNamespace(choices=[SimpleNamespace(index=0, message=message, finish_reason="stop")])

    def _chunks(self, answer: str) -> Iterator[Any]:
        for i in range(0, len(answer), self.chunk):
            delta = SimpleNamespace(content=answer[i:i + self.chunk])
            yield SimpleNamespace(choices=[SimpleNamespace(index=0, delta=delta, finish_reason=None)])
        yield SimpleNamespace(choices=[SimpleNamespace(index=0, delta=SimpleNamespace(content=None),
                                                       finish_reason="stop")])


class AsyncChatLLM(ChatLLM):
    async def create(self, *, messages: list[Any], **kwargs: Any) -> Any:  # type: ignore[override]
        result = ChatLLM.create(self, messages=messages, **kwargs)
        if kwargs.get("stream"):
            return _aiter(result)
        return result


async def _aiter(items: Iterator[Any]) -> AsyncIterator[Any]:
    for item in items:
        await asyncio.sleep(0)
        yield item


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fake", [False, True])
def test_chat_client_round_trip_over_turns(stream: bool, fake: bool) -> None:
    llm = ChatLLM()
    client = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=llm)), _guard(fake),
                               pseudonymize=True)
    history: list[dict[str, Any]] = [{"role": "system", "content": f"고객 {NAME}, 연락처 {PHONE}"}]
    for turn in (PROMPT, f"{EMAIL} 말고 {PHONE}로 부탁해요"):
        history.append({"role": "user", "content": turn})
        response = client.chat.completions.create(model="m", messages=history, stream=stream)
        if stream:
            answer = "".join(c.choices[0].delta.content or "" for c in response)
        else:
            answer = response.choices[0].message.content
        assert answer == f"답변: {turn} {NAME}님 감사합니다"
        history.append({"role": "assistant", "content": answer})  # the app keeps the real values
    assert len(llm.requests) == 2
    for request in llm.requests:
        assert not _leaks(json.dumps(request, ensure_ascii=False))


async def test_async_chat_client_streams_the_round_trip() -> None:
    llm = AsyncChatLLM(chunk=2)
    async with AsyncGuard(engine=_engine()) as guard:
        client = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=llm)), guard, is_async=True,
                                   pseudonymize=True)
        response = await client.chat.completions.create(model="m", stream=True,
                                                        messages=[{"role": "user", "content": PROMPT}])
        answer = "".join([c.choices[0].delta.content or "" async for c in response])
    assert answer == f"답변: {PROMPT} {NAME}님 감사합니다"
    assert not _leaks(json.dumps(llm.requests, ensure_ascii=False))
