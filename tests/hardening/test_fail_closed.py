"""Fail closed: when the guard cannot answer, the LLM filters block by default and pass only when told to.

Outages are real ones: a sidecar nobody listens on (UNAVAILABLE), a server whose model is busy past the
caller's deadline, an AsyncGuard stopped between the prompt and the answer (its batcher refuses work).
Every outcome is counted in guard_fail_closed_total / guard_fail_open_total{stage,reason}.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from guard.client import AsyncGuardClient, GuardClient, RetryPolicy
from guard.engine.fake import FakeEngine, FakeEngineError
from guard.errors import (
    BlockedError,
    ConfigError,
    DeadlineError,
    GuardError,
    GuardUnavailableError,
    InputError,
    ModelError,
    OverloadedError,
    ServiceError,
    TooLargeError,
)
from guard.filters import GuardedChatClient, aguard_llm, fail_reason, guard_llm
from guard.metrics import GuardMetrics
from guard.policy import Policy
from guard.sdk import AsyncGuard, Guard
from tests.hardening.conftest import free_port
from tests.service.conftest import RRN, Gate, StartServer

PROMPT = "제 번호는 010-2345-6789 이고 비밀 메모는 zq-fail-closed 입니다"


@pytest.fixture
def metrics() -> GuardMetrics:
    return GuardMetrics(CollectorRegistry())


def _count(metrics: GuardMetrics, outcome: str, stage: str, reason: str) -> float:
    value = metrics.registry.get_sample_value(f"guard_fail_{outcome}_total",
                                              {"stage": stage, "reason": reason})
    assert value is not None
    return value


def _dead_client() -> GuardClient:
    return GuardClient(f"127.0.0.1:{free_port()}", timeout_s=2, retry=RetryPolicy(max_retries=0))


def test_unreachable_sidecar_fails_closed_before_the_llm(metrics: GuardMetrics) -> None:
    called: list[str] = []
    with _dead_client() as client:
        with pytest.raises(GuardUnavailableError) as info:
            guard_llm(lambda p: called.append(p) or "answer", client, metrics=metrics)(PROMPT)
    err = info.value
    assert isinstance(err, BlockedError) and err.stage == "prompt" and err.reason == "service"
    assert isinstance(err.__cause__, ServiceError) and err.verdict is None
    assert not called  # the prompt never reached the model
    assert "010" not in str(err) and "zq-fail" not in str(err)
    assert _count(metrics, "closed", "prompt", "service") == 1
    assert _count(metrics, "open", "prompt", "service") == 0


def test_fail_open_is_an_explicit_choice_and_counted(metrics: GuardMetrics) -> None:
    seen: list[str] = []
    with _dead_client() as client:
        guarded = guard_llm(lambda p: seen.append(p) or f"echo {p}", client, fail_open=True, metrics=metrics)
        assert guarded(PROMPT) == f"echo {PROMPT}"  # unchecked both ways, as asked
    assert seen == [PROMPT]
    assert _count(metrics, "open", "prompt", "service") == 1
    assert _count(metrics, "open", "answer", "service") == 1
    assert _count(metrics, "closed", "prompt", "service") == 0


async def test_answer_stage_fails_closed_when_the_guard_stops(metrics: GuardMetrics) -> None:
    guard = AsyncGuard(engine=FakeEngine())
    await guard.start()

    async def llm(prompt: str) -> str:
        await guard.stop()  # the guard goes away while the LLM answers
        return "담당자 번호는 010-9876-5432 입니다"

    with pytest.raises(GuardUnavailableError) as info:
        await aguard_llm(llm, guard, metrics=metrics)("안녕하세요")
    assert info.value.stage == "answer" and info.value.reason == "overloaded"
    assert isinstance(info.value.__cause__, OverloadedError)
    assert _count(metrics, "closed", "answer", "overloaded") == 1


async def test_answer_stage_fail_open_returns_the_unchecked_answer(metrics: GuardMetrics) -> None:
    guard = AsyncGuard(engine=FakeEngine())
    await guard.start()

    async def llm(prompt: str) -> str:
        await guard.stop()
        return "담당자 번호는 010-9876-5432 입니다"

    answer = await aguard_llm(llm, guard, fail_open=True, metrics=metrics)("안녕하세요")
    assert answer == "담당자 번호는 010-9876-5432 입니다"
    assert _count(metrics, "open", "answer", "overloaded") == 1


async def test_deadline_fails_closed(start_server: StartServer, metrics: GuardMetrics) -> None:
    gate = Gate()
    server = await start_server(engine=FakeEngine(fail_on=gate), batcher={"max_wait_s": 0})
    try:
        async with AsyncGuardClient(server.target, timeout_s=0.3, retry=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(GuardUnavailableError) as info:
                await aguard_llm(_async_echo, client, metrics=metrics)(PROMPT)
    finally:
        gate.open()
    assert info.value.reason == "deadline" and isinstance(info.value.__cause__, DeadlineError)
    assert _count(metrics, "closed", "prompt", "deadline") == 1


async def _async_echo(prompt: str) -> str:
    return prompt


def test_input_errors_and_blocks_are_not_outages(metrics: GuardMetrics) -> None:
    guard = Guard(engine=FakeEngine())
    with pytest.raises(InputError):  # an empty prompt is the caller's mistake, raised as such
        guard_llm(lambda p: p, guard, metrics=metrics)("   ")
    strict = Guard(engine=FakeEngine(), policy=Policy.strict())
    with pytest.raises(BlockedError) as info:
        guard_llm(lambda p: p, strict, fail_open=True, metrics=metrics)("저 우울증 있어요")
    assert not isinstance(info.value, GuardUnavailableError)  # a real verdict blocked it
    exposition = metrics.registry.collect()
    assert all(s.value == 0 for f in exposition if f.name.startswith("guard_fail_") for s in f.samples
               if s.name.endswith("_total"))


def test_a_bug_in_the_checker_propagates_and_the_llm_is_not_called(metrics: GuardMetrics) -> None:
    guard = Guard(engine=FakeEngine(fail_on=lambda batch: True))
    called: list[str] = []
    with pytest.raises(FakeEngineError):  # not an outage: raised as is, never swallowed by fail_open
        guard_llm(lambda p: called.append(p) or p, guard, fail_open=True, metrics=metrics)(PROMPT)
    assert not called


class _Failing:
    """A checker whose check raises `error` (the reason table, one error type at a time)."""

    def __init__(self, error: GuardError) -> None:
        self.error = error

    def check(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(("error", "reason"), [
    (DeadlineError("x"), "deadline"),
    (OverloadedError("x"), "overloaded"),
    (ServiceError("x", "INTERNAL"), "service"),
    (ModelError("x"), "model"),
    (ConfigError("x"), "config"),
    (GuardError("x"), "other"),
])
def test_every_outage_kind_fails_closed_with_its_reason(error: GuardError, reason: str,
                                                        metrics: GuardMetrics) -> None:
    assert fail_reason(error) == reason
    with pytest.raises(GuardUnavailableError) as info:
        guard_llm(lambda p: p, _Failing(error), metrics=metrics)("hello")
    assert info.value.reason == reason and info.value.__cause__ is error
    assert _count(metrics, "closed", "prompt", reason) == 1


class _Completions:
    def __init__(self) -> None:
        self.requests: list[Any] = []

    def create(self, *, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.requests.append(messages)
        message = SimpleNamespace(role="assistant", content="네 알겠습니다")
        return SimpleNamespace(choices=[SimpleNamespace(index=0, message=message)])


def test_chat_client_fails_closed_and_open(metrics: GuardMetrics) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    with _dead_client() as client:
        inner = _Completions()
        closed = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=inner)), client,
                                   metrics=metrics)
        with pytest.raises(GuardUnavailableError):
            closed.chat.completions.create(model="m", messages=messages)
        assert inner.requests == []
        opened = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=inner)), client,
                                   fail_open=True, metrics=metrics)
        response = opened.chat.completions.create(model="m", messages=messages)
    assert inner.requests == [messages] and response.choices[0].message.content == "네 알겠습니다"
    assert _count(metrics, "closed", "prompt", "service") == 1
    assert _count(metrics, "open", "prompt", "service") == 1
    assert _count(metrics, "open", "answer", "service") == 1


async def test_async_chat_client_fails_closed(metrics: GuardMetrics) -> None:
    class AsyncCompletions(_Completions):
        async def create(self, *, messages: list[dict[str, Any]], **kwargs: Any) -> Any:  # type: ignore[override]
            return super().create(messages=messages, **kwargs)

    inner = AsyncCompletions()
    async with AsyncGuardClient(f"127.0.0.1:{free_port()}", timeout_s=2,
                                retry=RetryPolicy(max_retries=0)) as client:
        wrapped = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=inner)), client,
                                    is_async=True, metrics=metrics)
        with pytest.raises(GuardUnavailableError):
            await wrapped.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
    assert inner.requests == [] and _count(metrics, "closed", "prompt", "service") == 1


async def test_service_never_answers_safe_when_the_model_fails(start_server: StartServer) -> None:
    """The sidecar's own fail-closed: a failed model call is an error status, never a "safe" verdict,
    and a stream stops releasing text at the first failed check."""
    failing = {"on": False}
    server = await start_server(engine=FakeEngine(fail_on=lambda batch: failing["on"]),
                                batcher={"max_wait_s": 0})
    async with AsyncGuardClient(server.target, retry=RetryPolicy(max_retries=0)) as client:
        failing["on"] = True
        with pytest.raises(ServiceError) as info:
            await client.check("hello there")
        assert info.value.code == "INTERNAL"
        with pytest.raises(ServiceError) as info:  # a failed model call fails the whole batch call
            await client.check_batch(["one", "two"], return_exceptions=True)
        assert info.value.code == "INTERNAL"
        shown: list[str] = []
        with pytest.raises(ServiceError):
            async for update in client.check_stream(["first words ", "then 900101-1234568 more"]):
                shown.append(update.text)
        assert "1234568" not in "".join(shown)
        failing["on"] = False
        assert (await client.check("hello there")).safe  # and it still serves


async def test_an_oversized_prompt_never_passes_unchecked(start_server: StartServer, metrics: GuardMetrics) -> None:
    """A prompt over the gRPC message-size limit is refused as too large, never as an overload: even with
    fail_open=True it must not reach the LLM. Refused by this client's limit, or by the server's."""
    server = await start_server(server={"max_message_bytes": 1 << 20})
    prompt = f"제 주민번호는 {RRN} 입니다 " + "가나다라 " * 100_000  # about 1.3 MB of UTF-8

    def attempt(client_bytes: int) -> tuple[list[Any], TooLargeError, TooLargeError]:
        called: list[Any] = []
        with GuardClient(server.target, max_message_bytes=client_bytes, retry=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(TooLargeError) as plain:
                guard_llm(lambda p: called.append(p) or "x", client, fail_open=True, metrics=metrics)(prompt)
            inner = _Completions()
            chat = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=inner)), client,
                                     fail_open=True, metrics=metrics)
            with pytest.raises(TooLargeError) as in_chat:
                chat.chat.completions.create(model="m", messages=[{"role": "system", "content": prompt},
                                                                  {"role": "user", "content": "요약해 줘"}])
            called += inner.requests
        return called, plain.value, in_chat.value

    for client_bytes in (1 << 20, 8 << 20):  # this client's limit, then the server's
        called, *errors = await asyncio.to_thread(attempt, client_bytes)
        assert called == []
        for err in errors:
            assert "too large" in str(err) and "overload" not in str(err).lower()
            assert "1234568" not in str(err) and "가나다라" not in str(err)
    exposition = metrics.registry.collect()
    assert all(s.value == 0 for f in exposition if f.name.startswith("guard_fail_") for s in f.samples
               if s.name.endswith("_total"))  # not an outage: neither failed open nor closed


@pytest.mark.parametrize("fail_open", [False, True])
async def test_a_streamed_answer_fails_closed_or_open(fail_open: bool, metrics: GuardMetrics) -> None:
    """The guard goes away while the answer streams: fail closed raises before any unchecked text is
    shown; fail open passes the rest (what was held back included) and counts it."""
    answer = "담당자 번호는 010-9876-5432 입니다. 감사합니다."
    guard = AsyncGuard(engine=FakeEngine())
    await guard.start()

    class StreamingLLM:
        async def create(self, *, messages: list[Any], **kwargs: Any) -> Any:
            async def chunks() -> Any:
                await guard.stop()  # the guard stops as the answer starts
                for i in range(0, len(answer), 4):
                    delta = SimpleNamespace(content=answer[i:i + 4])
                    yield SimpleNamespace(choices=[SimpleNamespace(index=0, delta=delta, finish_reason=None)])
            return chunks()

    client = GuardedChatClient(SimpleNamespace(chat=SimpleNamespace(completions=StreamingLLM())), guard,
                               is_async=True, fail_open=fail_open, metrics=metrics)
    stream = await client.chat.completions.create(model="m", stream=True,
                                                  messages=[{"role": "user", "content": "번호 알려줘"}])
    shown: list[str] = []
    if fail_open:
        shown = [part.choices[0].delta.content async for part in stream]
        assert "".join(shown) == answer
        assert _count(metrics, "open", "answer", "overloaded") == 1
    else:
        with pytest.raises(GuardUnavailableError):
            async for part in stream:
                shown.append(part.choices[0].delta.content)
        assert "".join(shown) == "" and _count(metrics, "closed", "answer", "overloaded") == 1
