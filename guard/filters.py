"""Guarded LLM calls: the prompt is checked (masked or blocked) before the call, the answer after it.

Works with any checker that has Guard's `check` method: the in-process Guard or the sidecar's
GuardClient (and their async twins for the async filters). A block raises BlockedError.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from guard.errors import BlockedError
from guard.verdict import Action, Verdict


class Checker(Protocol):
    def check(self, text: str | None = None, *, messages: Any = None, role: str | None = None,
              context: str | None = None) -> Verdict: ...


class AsyncChecker(Protocol):
    async def check(self, text: str | None = None, *, messages: Any = None, role: str | None = None,
                    context: str | None = None) -> Verdict: ...


def _passed(verdict: Verdict, text: str, stage: str) -> str:
    """The text to pass on: unchanged, masked, or BlockedError."""
    if verdict.action == Action.BLOCK.value:
        raise BlockedError(verdict, stage)
    if verdict.action == Action.MASK.value and verdict.masked is not None:
        return verdict.masked
    return text


def guard_llm(llm: Callable[[str], str], checker: Checker) -> Callable[[str], str]:
    """Wrap `llm(prompt) -> answer` so prompts and answers go through the guard."""

    def guarded(prompt: str) -> str:
        safe_prompt = _passed(checker.check(prompt, role="user"), prompt, "prompt")
        answer = llm(safe_prompt)
        return _passed(checker.check(answer, role="assistant", context=safe_prompt), answer, "answer")

    return guarded


def aguard_llm(llm: Callable[[str], Awaitable[str]], checker: AsyncChecker,
               ) -> Callable[[str], Awaitable[str]]:
    """Async twin of guard_llm."""

    async def guarded(prompt: str) -> str:
        safe_prompt = _passed(await checker.check(prompt, role="user"), prompt, "prompt")
        answer = await llm(safe_prompt)
        verdict = await checker.check(answer, role="assistant", context=safe_prompt)
        return _passed(verdict, answer, "answer")

    return guarded


class _Completions:
    def __init__(self, inner: Any, checker: Any, is_async: bool) -> None:
        self._inner = inner
        self._checker = checker
        self._async = is_async

    def create(self, *, messages: Sequence[dict[str, Any]], **kwargs: Any) -> Any:
        if self._async:
            return self._acreate(messages, kwargs)
        safe = _guard_messages(messages, self._checker.check(messages=_text_messages(messages)))
        response = self._inner.create(messages=safe, **kwargs)
        for choice in response.choices:
            answer = choice.message.content or ""
            if answer:
                verdict = self._checker.check(messages=[*_text_messages(safe),
                                                        {"role": "assistant", "content": answer}])
                choice.message.content = _passed(verdict, answer, "answer")
        return response

    async def _acreate(self, messages: Sequence[dict[str, Any]], kwargs: dict[str, Any]) -> Any:
        safe = _guard_messages(messages, await self._checker.check(messages=_text_messages(messages)))
        response = await self._inner.create(messages=safe, **kwargs)
        for choice in response.choices:
            answer = choice.message.content or ""
            if answer:
                verdict = await self._checker.check(messages=[*_text_messages(safe),
                                                              {"role": "assistant", "content": answer}])
                choice.message.content = _passed(verdict, answer, "answer")
        return response


class _Chat:
    def __init__(self, completions: _Completions) -> None:
        self.completions = completions


class GuardedChatClient:
    """An OpenAI-style client (`client.chat.completions.create(messages=...)`) behind the guard.

    The last message is checked before the call (masked in the request, or BlockedError) and every
    returned choice after it. Pass `is_async=True` for an async client with an async checker.
    """

    def __init__(self, client: Any, checker: Checker | AsyncChecker, *, is_async: bool = False) -> None:
        self.chat = _Chat(_Completions(client.chat.completions, checker, is_async))


def _text_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The messages the guard judges: text content only, in order."""
    return [{"role": m["role"], "content": m["content"]} for m in messages
            if isinstance(m.get("content"), str) and m.get("role") in ("system", "user", "assistant")]


def _guard_messages(messages: Sequence[dict[str, Any]], verdict: Verdict) -> list[dict[str, Any]]:
    """A copy of `messages` with the last one replaced by what may be sent."""
    out = copy.deepcopy(list(messages))
    last = out[-1]
    last["content"] = _passed(verdict, last["content"], "prompt")
    return out
