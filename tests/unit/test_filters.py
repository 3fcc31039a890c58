"""LLM-call filters: prompts checked before the call, answers after it, BlockedError on block."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from guard import BlockedError, Guard, GuardedChatClient, aguard_llm, guard_llm
from guard.engine.fake import FakeEngine
from guard.policy import Policy
from guard.sdk import AsyncGuard


@pytest.fixture
def guard() -> Guard:
    return Guard(engine=FakeEngine())


def test_prompt_is_masked_before_the_llm_sees_it_and_the_answer_after(guard: Guard) -> None:
    seen: list[str] = []

    def llm(prompt: str) -> str:
        seen.append(prompt)
        return "네, 담당자 번호는 010-2345-6789 입니다"

    answer = guard_llm(llm, guard)("제 주민번호는 900101-1234568이에요")
    assert seen == ["제 주민번호는 900101-1******이에요"]
    assert answer == "네, 담당자 번호는 010-****-6789 입니다"


def test_safe_text_passes_unchanged(guard: Guard) -> None:
    assert guard_llm(lambda p: p + " 답", guard)("오늘 날씨 어때?") == "오늘 날씨 어때? 답"


def test_block_raises_before_the_call(guard: Guard) -> None:
    strict = Guard(engine=FakeEngine(), policy=Policy.strict())
    called = []
    with pytest.raises(BlockedError) as info:
        guard_llm(lambda p: called.append(p) or "x", strict)("저 우울증 있어요")
    assert info.value.stage == "prompt" and not called and "우울증" not in str(info.value)
    assert info.value.verdict.categories == ["S1"]


def test_blocked_answer_raises_after_the_call() -> None:
    g = Guard(engine=FakeEngine(), policy=Policy.from_dict({"assistant": {"S7": "block"}}))
    with pytest.raises(BlockedError) as info:
        guard_llm(lambda p: "그 사람 전과 있어요", g)("그 사람 어때?")
    assert info.value.stage == "answer"


async def test_async_filter() -> None:
    async def llm(prompt: str) -> str:
        return f"받은 질문: {prompt}"

    async with AsyncGuard(engine=FakeEngine()) as g:
        answer = await aguard_llm(llm, g)("전화 010-2345-6789로 주세요")
    assert answer == "받은 질문: 전화 010-****-6789로 주세요"


class _FakeCompletions:
    """The shape of openai's `client.chat.completions` (the user's LLM, not ours)."""

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def create(self, *, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.requests.append(messages)
        message = SimpleNamespace(role="assistant", content="카드번호는 4532-0151-1283-0366 입니다")
        return SimpleNamespace(choices=[SimpleNamespace(index=0, message=message)], model=kwargs["model"])


def test_openai_style_client_is_guarded(guard: Guard) -> None:
    inner = _FakeCompletions()
    client = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=inner)), guard)
    messages = [{"role": "system", "content": "도우미"}, {"role": "user", "content": "제 번호 010-2345-6789"}]
    response = client.chat.completions.create(model="m", messages=messages)
    assert inner.requests[0][-1]["content"] == "제 번호 010-****-6789"
    assert messages[-1]["content"] == "제 번호 010-2345-6789"  # the caller's list is not changed
    assert response.choices[0].message.content == "카드번호는 4532-****-****-0366 입니다"


async def test_async_openai_style_client_is_guarded() -> None:
    class AsyncCompletions(_FakeCompletions):
        async def create(self, *, messages: list[dict[str, Any]], **kwargs: Any) -> Any:  # type: ignore[override]
            return super().create(messages=messages, **kwargs)

    inner = AsyncCompletions()
    async with AsyncGuard(engine=FakeEngine()) as g:
        client = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=inner)), g, is_async=True)
        response = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "안녕"}])
    assert response.choices[0].message.content == "카드번호는 4532-****-****-0366 입니다"
