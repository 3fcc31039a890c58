"""GuardedChatClient: no raw identifier reaches the LLM, whatever the message shape, role or turn, and a
streamed answer is moderated as it streams. The guard is real (its validated detectors); the LLM is a
fake standing in for openai's `client.chat.completions`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from guard import BlockedError, ConfigError, Guard, GuardedChatClient
from guard.errors import InputError
from guard.policy import Overrides, Policy
from guard.sdk import AsyncGuard
from guard.verdict import Verdict

RRN = "900101-1234568"
SECRET = "1234568"  # the part of the RRN its mask hides
MASKED_RRN = "900101-1******"


class FakeLLM:
    """The shape of openai's `client.chat.completions`: records every request, answers `answer`
    (as one message, or as chunks of `chunk` characters when stream=True)."""

    def __init__(self, answer: str = "네, 확인했습니다.", chunk: int = 3) -> None:
        self.requests: list[list[Any]] = []
        self.answer = answer
        self.chunk = chunk

    def create(self, *, messages: list[Any], **kwargs: Any) -> Any:
        self.requests.append(messages)
        if kwargs.get("stream"):
            return self._chunks()
        message = SimpleNamespace(role="assistant", content=self.answer)
        return SimpleNamespace(choices=[SimpleNamespace(index=0, message=message, finish_reason="stop")])

    def _chunks(self) -> Iterator[Any]:
        for i in range(0, len(self.answer), self.chunk):
            delta = SimpleNamespace(content=self.answer[i:i + self.chunk])
            yield SimpleNamespace(choices=[SimpleNamespace(index=0, delta=delta, finish_reason=None)])
        yield SimpleNamespace(choices=[SimpleNamespace(index=0, delta=SimpleNamespace(content=None),
                                                       finish_reason="stop")])

    def sent(self, k: int = -1) -> str:
        """Request k as the LLM would receive it on the wire."""
        return json.dumps(self.requests[k], ensure_ascii=False)


class CountingGuard:
    """The real guard, counting its checks (to see that a message is checked once)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.checked: list[str] = []

    def check(self, text: str | None = None, **kw: Any) -> Verdict:
        self.checked.append(text or "")
        return self.guard.check(text, **kw)


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.detectors_only()


def _client(llm: FakeLLM, checker: Any, **kw: Any) -> GuardedChatClient:
    return GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=llm)), checker, **kw)


# Every place a text reaches the model: (role, message) with the RRN inside.
PLACES = {
    "user parts": {"role": "user", "content": [{"type": "text", "text": f"제 주민번호는 {RRN}"},
                                                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
    "developer": {"role": "developer", "content": f"고객 주민번호 {RRN} 참고"},
    "tool": {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"rrn": RRN})},
    "tool parts": {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": f"rrn {RRN}"}]},
    "system": {"role": "system", "content": f"상담 고객의 주민번호는 {RRN} 입니다."},
    "assistant": {"role": "assistant", "content": f"확인한 번호는 {RRN} 입니다."},
    "tool call arguments": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"rrn": RRN})}}]},
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("position", ["last", "first", "middle"])
def test_no_raw_rrn_reaches_the_llm(guard: Guard, place: str, position: str) -> None:
    planted = PLACES[place]
    plain = [{"role": "system", "content": "친절한 상담원"}, {"role": "user", "content": "안녕하세요"},
             {"role": "assistant", "content": "무엇을 도와드릴까요?"}, {"role": "user", "content": "도와주세요"}]
    at = {"first": 0, "middle": 2, "last": len(plain)}[position]
    messages = [*plain[:at], planted, *plain[at:]]
    llm = FakeLLM()
    _client(llm, guard).chat.completions.create(model="m", messages=messages)
    assert SECRET not in llm.sent()
    assert MASKED_RRN in llm.sent()
    assert json.dumps(messages, ensure_ascii=False).count(SECRET) == 1  # the app's own list is unchanged


def test_parts_that_are_not_text_pass_unchanged(guard: Guard) -> None:
    llm = FakeLLM()
    _client(llm, guard).chat.completions.create(model="m", messages=[PLACES["user parts"]])
    sent = llm.requests[0][0]["content"]
    assert sent[0] == {"type": "text", "text": f"제 주민번호는 {MASKED_RRN}"}
    assert sent[1] == {"type": "image_url", "image_url": {"url": "https://x/y.png"}}


def test_history_keeps_the_original_and_the_next_call_is_still_masked(guard: Guard) -> None:
    """The app keeps its own history (with the raw number) and sends it back on the next turn: the
    earlier turn must be masked again, from memory, not checked again."""
    counting = CountingGuard(guard)
    llm = FakeLLM()
    client = _client(llm, counting)
    history: list[dict[str, Any]] = [{"role": "system", "content": "상담원"},
                                     {"role": "user", "content": f"제 주민번호는 {RRN} 입니다"}]
    answer = client.chat.completions.create(model="m", messages=history).choices[0].message.content
    history += [{"role": "assistant", "content": answer}, {"role": "user", "content": "다음 질문이요"}]
    client.chat.completions.create(model="m", messages=history)
    assert SECRET not in llm.sent(0) and SECRET not in llm.sent(1)
    assert llm.requests[1][1]["content"] == f"제 주민번호는 {MASKED_RRN} 입니다"
    # Each text was checked once over both calls: the first answer when it came back, not again as
    # history; the second call checked only its new turn and its own answer.
    assert counting.checked == ["상담원", f"제 주민번호는 {RRN} 입니다", answer, "다음 질문이요", answer]


def test_the_memory_holds_no_original_text(guard: Guard) -> None:
    llm = FakeLLM()
    client = _client(llm, guard)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"번호 {RRN}"}])
    memory = client.chat.completions._memory  # what the client keeps between calls
    assert len(memory) == 2  # the prompt and the answer
    assert SECRET not in repr(memory._entries) and RRN.encode() not in b"".join(memory._entries)


def test_a_block_anywhere_stops_the_call() -> None:
    strict = Guard.detectors_only(policy=Policy.from_dict({"user": {"P1": "block"}}))
    llm = FakeLLM()
    with pytest.raises(BlockedError) as info:
        _client(llm, strict).chat.completions.create(model="m", messages=[PLACES["system"],
                                                                           {"role": "user", "content": "안녕"}])
    assert llm.requests == [] and SECRET not in str(info.value)


def test_sdk_message_objects_are_read(guard: Guard) -> None:
    """Apps append the SDK's message object (a pydantic model) to their history as it came back."""

    class Message:
        def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
            return {"role": "assistant", "content": f"번호는 {RRN}"}

    llm = FakeLLM()
    _client(llm, guard).chat.completions.create(model="m", messages=[Message(), {"role": "user", "content": "네"}])
    assert SECRET not in llm.sent()
    with pytest.raises(InputError):  # what cannot be read cannot be checked, so it is not sent
        _client(llm, guard).chat.completions.create(model="m", messages=[object()])
    with pytest.raises(InputError):
        _client(llm, guard).chat.completions.create(model="m", messages=[{"role": "user", "content": {"x": RRN}}])
    assert len(llm.requests) == 1


# --- stream=True -----------------------------------------------------------------------------------

ANSWER = f"조회 결과 주민번호는 {RRN} 이고 전화는 010-2345-6789 입니다. 다른 문의가 있으신가요?"
MASKED_ANSWER = f"조회 결과 주민번호는 {MASKED_RRN} 이고 전화는 010-****-6789 입니다. 다른 문의가 있으신가요?"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_a_streamed_answer_is_moderated(guard: Guard, chunk: int) -> None:
    llm = FakeLLM(ANSWER, chunk)
    stream = _client(llm, guard).chat.completions.create(model="m", stream=True,
                                                         messages=[{"role": "user", "content": "조회해 주세요"}])
    shown = ""
    for part in stream:
        shown += part.choices[0].delta.content or ""
        assert SECRET not in shown and "2345" not in shown
    assert shown == MASKED_ANSWER


async def test_an_async_streamed_answer_is_moderated() -> None:
    class AsyncLLM(FakeLLM):
        async def create(self, *, messages: list[Any], **kwargs: Any) -> Any:  # type: ignore[override]
            chunks = super().create(messages=messages, **kwargs)

            async def agen() -> Any:
                for c in chunks:
                    yield c
            return agen()

    llm = AsyncLLM(ANSWER, 4)
    async with AsyncGuard.detectors_only() as g:
        client = _client(llm, g, is_async=True)
        stream = await client.chat.completions.create(model="m", stream=True,
                                                      messages=[{"role": "user", "content": f"제 번호 {RRN}"}])
        shown = "".join([part.choices[0].delta.content or "" async for part in stream])
    assert shown == MASKED_ANSWER and SECRET not in llm.sent()


def test_a_blocked_stream_raises_and_shows_nothing_of_the_identifier() -> None:
    strict = Guard.detectors_only(policy=Policy.from_dict({"assistant": {"P1": "block"}}))
    llm = FakeLLM(ANSWER, 3)
    shown = ""
    with pytest.raises(BlockedError) as info:
        for part in _client(llm, strict).chat.completions.create(model="m", stream=True,
                                                                 messages=[{"role": "user", "content": "조회"}]):
            shown += part.choices[0].delta.content or ""
    assert info.value.stage == "answer" and "P1" in info.value.verdict.categories
    assert "900101" not in shown


def test_stream_without_a_stream_capable_checker_fails_before_the_llm(guard: Guard) -> None:
    class CheckOnly:
        def check(self, text: str | None = None, **kw: Any) -> Verdict:
            return guard.check(text, **kw)

    llm = FakeLLM()
    with pytest.raises(ConfigError):
        _client(llm, CheckOnly()).chat.completions.create(model="m", stream=True,
                                                          messages=[{"role": "user", "content": "안녕"}])
    assert llm.requests == []


def test_a_stream_that_stops_without_finish_reason_still_releases_its_tail(guard: Guard) -> None:
    llm = FakeLLM(ANSWER, 5)
    llm._chunks = lambda: (c for c in list(FakeLLM._chunks(llm))[:-1])  # type: ignore[method-assign]
    parts = list(_client(llm, guard).chat.completions.create(model="m", stream=True,
                                                             messages=[{"role": "user", "content": "조회"}]))
    assert "".join(p.choices[0].delta.content or "" for p in parts) == MASKED_ANSWER


def test_overrides_are_not_needed_for_stream_moderators(guard: Guard) -> None:
    moderator = guard.stream_moderator(context="질문", overrides=Overrides(actions={"P3": "flag"}))
    shown = "".join(u.text for u in [moderator.feed("전화 010-2345-6789 입니다. "), moderator.finish()])
    assert "010-2345-6789" in shown  # a per-stream override reaches the moderator
