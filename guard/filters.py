"""Guarded LLM calls: the prompt is checked (masked or blocked) before the call, the answer after it.

Works with any checker that has Guard's `check` method: the in-process Guard or the sidecar's
GuardClient (and their async twins for the async filters). A block raises BlockedError.

When the guard cannot answer (a DeadlineError, OverloadedError, ServiceError, ModelError or any other
GuardError except InputError and BlockedError), the filter fails closed by default: it raises
GuardUnavailableError (a BlockedError, so code that handles blocks handles this too), the prompt never
reaches the LLM and an unchecked answer is never returned. `fail_open=True` is the explicit opposite:
the unchecked text passes on. Either outcome is counted on the `metrics` passed in
(guard_fail_closed_total / guard_fail_open_total{stage,reason}). InputError (the text itself is bad:
empty, too long) and anything that is not a GuardError propagate unchanged: the call fails either way.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

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
)
from guard.verdict import Action, Verdict

if TYPE_CHECKING:
    from guard.metrics import GuardMetrics

logger = logging.getLogger(__name__)

#: Why the guard could not answer: the `reason` label of the fail-open/closed metrics, a closed set.
FAIL_REASONS: tuple[tuple[type[GuardError], str], ...] = (
    (DeadlineError, "deadline"),
    (OverloadedError, "overloaded"),
    (ServiceError, "service"),
    (ModelError, "model"),
    (ConfigError, "config"),
)


class Checker(Protocol):
    def check(self, text: str | None = None, *, messages: Any = None, role: str | None = None,
              context: str | None = None) -> Verdict: ...


class AsyncChecker(Protocol):
    async def check(self, text: str | None = None, *, messages: Any = None, role: str | None = None,
                    context: str | None = None) -> Verdict: ...


def _passed(verdict: Verdict | None, text: str, stage: str) -> str:
    """The text to pass on: unchanged, masked, or BlockedError. None: the guard failed open."""
    if verdict is None:
        return text
    if verdict.action == Action.BLOCK.value:
        raise BlockedError(verdict, stage)
    if verdict.action == Action.MASK.value and verdict.masked is not None:
        return verdict.masked
    return text


def fail_reason(exc: GuardError) -> str:
    """The closed-set reason label for an error that kept the guard from answering."""
    return next((reason for kind, reason in FAIL_REASONS if isinstance(exc, kind)), "other")


class _FailPolicy:
    """What to do when a check raises: fail closed (default) or open, and count it."""

    def __init__(self, fail_open: bool, metrics: GuardMetrics | None) -> None:
        self.fail_open = fail_open
        self.metrics = metrics

    def unavailable(self, exc: Exception, stage: str) -> None:
        """Return (fail open) or raise GuardUnavailableError (fail closed); re-raise what is no outage."""
        if not isinstance(exc, GuardError) or isinstance(exc, InputError | BlockedError):
            raise exc
        reason = fail_reason(exc)
        # The error's type and reason only: its message might be a foreign library's.
        logger.warning("guard unavailable at the %s stage (%s): failing %s", stage, reason,
                       "open" if self.fail_open else "closed")
        if self.fail_open:
            if self.metrics is not None:
                self.metrics.observe_fail_open(stage, reason)
            return
        if self.metrics is not None:
            self.metrics.observe_fail_closed(stage, reason)
        raise GuardUnavailableError(stage, reason) from exc

    def check(self, checker: Checker, stage: str, **kwargs: Any) -> Verdict | None:
        try:
            return checker.check(**kwargs)
        except Exception as exc:
            self.unavailable(exc, stage)
        return None

    async def acheck(self, checker: AsyncChecker, stage: str, **kwargs: Any) -> Verdict | None:
        try:
            return await checker.check(**kwargs)
        except Exception as exc:
            self.unavailable(exc, stage)
        return None


def guard_llm(llm: Callable[[str], str], checker: Checker, *, fail_open: bool = False,
              metrics: GuardMetrics | None = None) -> Callable[[str], str]:
    """Wrap `llm(prompt) -> answer` so prompts and answers go through the guard.

    Args:
        llm: the model call.
        checker: a Guard or GuardClient.
        fail_open: when the guard cannot answer, pass the text on unchecked instead of raising
            GuardUnavailableError (the default, fail closed).
        metrics: where fail-open and fail-closed outcomes are counted.
    """
    policy = _FailPolicy(fail_open, metrics)

    def guarded(prompt: str) -> str:
        verdict = policy.check(checker, "prompt", text=prompt, role="user")
        safe_prompt = _passed(verdict, prompt, "prompt")
        answer = llm(safe_prompt)
        verdict = policy.check(checker, "answer", text=answer, role="assistant", context=safe_prompt)
        return _passed(verdict, answer, "answer")

    return guarded


def aguard_llm(llm: Callable[[str], Awaitable[str]], checker: AsyncChecker, *, fail_open: bool = False,
               metrics: GuardMetrics | None = None) -> Callable[[str], Awaitable[str]]:
    """Async twin of guard_llm."""
    policy = _FailPolicy(fail_open, metrics)

    async def guarded(prompt: str) -> str:
        verdict = await policy.acheck(checker, "prompt", text=prompt, role="user")
        safe_prompt = _passed(verdict, prompt, "prompt")
        answer = await llm(safe_prompt)
        verdict = await policy.acheck(checker, "answer", text=answer, role="assistant", context=safe_prompt)
        return _passed(verdict, answer, "answer")

    return guarded


class _Completions:
    def __init__(self, inner: Any, checker: Any, is_async: bool, policy: _FailPolicy) -> None:
        self._inner = inner
        self._checker = checker
        self._async = is_async
        self._policy = policy

    def create(self, *, messages: Sequence[dict[str, Any]], **kwargs: Any) -> Any:
        if self._async:
            return self._acreate(messages, kwargs)
        verdict = self._policy.check(self._checker, "prompt", messages=_text_messages(messages))
        safe = _guard_messages(messages, verdict)
        response = self._inner.create(messages=safe, **kwargs)
        for choice in response.choices:
            answer = choice.message.content or ""
            if answer:
                verdict = self._policy.check(self._checker, "answer", messages=[
                    *_text_messages(safe), {"role": "assistant", "content": answer}])
                choice.message.content = _passed(verdict, answer, "answer")
        return response

    async def _acreate(self, messages: Sequence[dict[str, Any]], kwargs: dict[str, Any]) -> Any:
        verdict = await self._policy.acheck(self._checker, "prompt", messages=_text_messages(messages))
        safe = _guard_messages(messages, verdict)
        response = await self._inner.create(messages=safe, **kwargs)
        for choice in response.choices:
            answer = choice.message.content or ""
            if answer:
                verdict = await self._policy.acheck(self._checker, "answer", messages=[
                    *_text_messages(safe), {"role": "assistant", "content": answer}])
                choice.message.content = _passed(verdict, answer, "answer")
        return response


class _Chat:
    def __init__(self, completions: _Completions) -> None:
        self.completions = completions


class GuardedChatClient:
    """An OpenAI-style client (`client.chat.completions.create(messages=...)`) behind the guard.

    The last message is checked before the call (masked in the request, or BlockedError) and every
    returned choice after it. Pass `is_async=True` for an async client with an async checker;
    `fail_open` and `metrics` as for guard_llm (fail closed by default).
    """

    def __init__(self, client: Any, checker: Checker | AsyncChecker, *, is_async: bool = False,
                 fail_open: bool = False, metrics: GuardMetrics | None = None) -> None:
        self.chat = _Chat(_Completions(client.chat.completions, checker, is_async,
                                       _FailPolicy(fail_open, metrics)))


def _text_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The messages the guard judges: text content only, in order."""
    return [{"role": m["role"], "content": m["content"]} for m in messages
            if isinstance(m.get("content"), str) and m.get("role") in ("system", "user", "assistant")]


def _guard_messages(messages: Sequence[dict[str, Any]], verdict: Verdict | None) -> list[dict[str, Any]]:
    """A copy of `messages` with the last one replaced by what may be sent."""
    out = copy.deepcopy(list(messages))
    last = out[-1]
    last["content"] = _passed(verdict, last["content"], "prompt")
    return out
