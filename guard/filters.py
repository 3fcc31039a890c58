"""Guarded LLM calls: the prompt is checked (masked or blocked) before the call, the answer after it.

Works with any checker that has Guard's `check` method: the in-process Guard or the sidecar's
GuardClient (and their async twins for the async filters). A block raises BlockedError.

When the guard cannot answer (a DeadlineError, OverloadedError, ServiceError, ModelError or any other
GuardError except InputError and BlockedError), the filter fails closed by default: it raises
GuardUnavailableError (a BlockedError, so code that handles blocks handles this too), the prompt never
reaches the LLM and an unchecked answer is never returned. `fail_open=True` is the explicit opposite:
the unchecked text passes on. Either outcome is counted on the `metrics` passed in
(guard_fail_closed_total / guard_fail_open_total{stage,reason}). InputError (the text itself is bad:
empty, unreadable) and anything that is not a GuardError propagate unchanged: the call fails either
way. A text over a size limit (TooLargeError, an InputError: too many characters, or a gRPC message
over the size limit) is such an input error, never an outage: it is not sent, also with fail_open.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
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
from guard.messages import CheckedMessages, MessageText, as_message, judged_role, message_texts, with_texts
from guard.roundtrip import PseudonymSession
from guard.stream import StreamUpdate
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
              metrics: GuardMetrics | None = None, pseudonymize: bool = False) -> Callable[[str], str]:
    """Wrap `llm(prompt) -> answer` so prompts and answers go through the guard.

    Args:
        llm: the model call.
        checker: a Guard or GuardClient.
        fail_open: when the guard cannot answer, pass the text on unchecked instead of raising
            GuardUnavailableError (the default, fail closed).
        metrics: where fail-open and fail-closed outcomes are counted.
        pseudonymize: send the LLM pseudonyms (typed placeholders or fakes, per the policy's
            `[pseudonymize]`) instead of masked values, and put the real values back into its answer
            (guard.roundtrip); each call has its own session, dropped when the call returns.
    """
    policy = _FailPolicy(fail_open, metrics)

    def guarded(prompt: str) -> str:
        if pseudonymize:
            return _round_trip(llm, checker, policy, prompt)
        verdict = policy.check(checker, "prompt", text=prompt, role="user")
        safe_prompt = _passed(verdict, prompt, "prompt")
        answer = llm(safe_prompt)
        verdict = policy.check(checker, "answer", text=answer, role="assistant", context=safe_prompt)
        return _passed(verdict, answer, "answer")

    return guarded


def _round_trip(llm: Callable[[str], str], checker: Checker, policy: _FailPolicy, prompt: str) -> str:
    session = PseudonymSession(checker)
    try:
        verdict = policy.check(checker, "prompt", text=prompt, role="user")
        sent = session.apply(verdict, prompt)
        canonical = session.canonical(llm(sent))
        verdict = policy.check(checker, "answer", text=canonical, role="assistant", context=sent)
        return session.answer(verdict, canonical)
    finally:
        session.close()


def aguard_llm(llm: Callable[[str], Awaitable[str]], checker: AsyncChecker, *, fail_open: bool = False,
               metrics: GuardMetrics | None = None, pseudonymize: bool = False) -> Callable[[str], Awaitable[str]]:
    """Async twin of guard_llm."""
    policy = _FailPolicy(fail_open, metrics)

    async def guarded(prompt: str) -> str:
        if pseudonymize:
            session = PseudonymSession(checker)
            try:
                verdict = await policy.acheck(checker, "prompt", text=prompt, role="user")
                sent = session.apply(verdict, prompt)
                canonical = session.canonical(await llm(sent))
                verdict = await policy.acheck(checker, "answer", text=canonical, role="assistant", context=sent)
                return session.answer(verdict, canonical)
            finally:
                session.close()
        verdict = await policy.acheck(checker, "prompt", text=prompt, role="user")
        safe_prompt = _passed(verdict, prompt, "prompt")
        answer = await llm(safe_prompt)
        verdict = await policy.acheck(checker, "answer", text=answer, role="assistant", context=safe_prompt)
        return _passed(verdict, answer, "answer")

    return guarded


@dataclass(frozen=True)
class _Ask:
    """One check the walk over a request needs: a text, the role it is judged as, its context."""

    text: str
    role: str
    context: str | None


#: Yields the checks it needs, is sent each verdict (None: the guard failed open), returns the safe
#: messages and the last user text (the context the answer is judged with).
_Walk = Generator[_Ask, Verdict | None, tuple[list[dict[str, Any]], str]]


def _walk(messages: Sequence[Any], memory: CheckedMessages, session: PseudonymSession | None = None) -> _Walk:
    """Every message of a request made safe to send: each of its texts checked, or what was sent for it
    before when the memory holds it. BlockedError when any text is blocked. With a pseudonym session,
    every text is checked and pseudonymized in it (the memory is not used: the session is the call's)."""
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise InputError("messages must be a list of {role, content} objects")
    out: list[dict[str, Any]] = []
    prompt = ""
    for index, raw in enumerate(messages):
        message = as_message(raw, index)
        role = judged_role(message.get("role"))
        context = prompt if role == "assistant" else ""
        texts = [t for t in message_texts(message, index) if t.text.strip()]  # blank text hides nothing
        if texts:
            key = memory.digest(str(message.get("role")), texts, context)
            edits = memory.get(key)
            # pseudonymizing: every text is checked again (the session is the call's); an answer this
            # client showed before is pseudonymized, never blocked as it goes back as history
            shown_before = edits is not None
            if session is not None:
                edits = None
            if edits is None:
                edits, checked = {}, True
                for t in texts:
                    verdict = yield _Ask(t.text, role, context or None)
                    checked = checked and verdict is not None
                    if session is None:
                        safe = _passed(verdict, t.text, "prompt")
                    else:
                        safe = session.apply(verdict, t.text, block=not shown_before)
                    if safe != t.text:
                        edits[t.path] = safe
                if checked and session is None:  # a text passed unchecked (fail open) is checked again
                    memory.put(key, edits)
            message = with_texts(message, edits)
            if message.get("role") == "user":
                prompt = texts[0].text
        out.append(message)
    return out, prompt


class _ChoiceStream:
    """One streamed choice: its moderator, the text received, how much of it was released."""

    def __init__(self, moderator: Any, template: Any) -> None:
        self.moderator = moderator
        self.template = template  # the choice object a tail is sent in when the stream just stops
        self.received = ""
        self.released = 0
        self.shown_text = ""
        self.unchecked = False  # the guard failed open: the rest passes as it comes
        self.done = False

    def take(self, text: str) -> bool:
        """Record `text`; True when it passes unchecked (after a fail-open), released as it is."""
        self.received += text
        if self.unchecked:
            self.released = len(self.received)
        return self.unchecked

    def shown(self, update: StreamUpdate) -> str:
        """The text `update` releases (the caller raises BlockedError when `update.blocked`)."""
        self.released = len(self.received) - update.held
        self.shown_text += update.text
        return update.text

    def failed(self, exc: Exception, policy: _FailPolicy) -> str:
        """A check raised: fail closed (raise), or open, releasing what was held back unchecked."""
        policy.unavailable(exc, "answer")
        self.unchecked = True
        return self.rest()

    def rest(self) -> str:
        """What was received and not released yet, as it came (nothing to check in it, or failed open)."""
        rest, self.released = self.received[self.released:], len(self.received)
        return rest

    def needs_check(self) -> bool:
        """Whether the end of the choice needs a check: not when done, failed open, or blank (the guard
        refuses an empty text, and blank text hides nothing)."""
        return not (self.done or self.unchecked or not self.received.strip())

    def close(self) -> None:
        close = getattr(self.moderator, "close", None)
        if callable(close):
            close()


def _blocked(update: StreamUpdate, stage: str = "answer") -> BlockedError:
    return BlockedError(update.verdict, stage)


def _tail_chunk(last: Any, template: Any, text: str) -> Any:
    """A chunk carrying `text` for one choice, shaped like the stream's own chunks (for a stream that
    ended without a finish_reason while text was still held back)."""
    chunk, choice = copy.copy(last), copy.deepcopy(template)
    choice.delta.content = text
    choice.finish_reason = None
    chunk.choices = [choice]
    return chunk


class _Completions:
    def __init__(self, inner: Any, checker: Any, is_async: bool, policy: _FailPolicy,
                 memory: CheckedMessages, pseudonymize: bool = False) -> None:
        self._inner = inner
        self._checker = checker
        self._async = is_async
        self._policy = policy
        self._memory = memory
        self._pseudonymize = pseudonymize

    def _session(self) -> PseudonymSession | None:
        """A pseudonym session for one call (pseudonymize=True), else None."""
        return PseudonymSession(self._checker) if self._pseudonymize else None

    def _moderator(self, prompt: str, session: PseudonymSession | None) -> Any:
        moderator = self._checker.stream_moderator(role="assistant", context=prompt or None)
        if session is None:
            return moderator
        return session.aanswer_moderator(moderator) if self._async else session.answer_moderator(moderator)

    def create(self, *, messages: Sequence[Any], **kwargs: Any) -> Any:
        if self._async:
            return self._acreate(messages, kwargs)
        self._can_stream(kwargs)
        session = self._session()
        walk = _walk(messages, self._memory, session)
        try:
            ask = next(walk)
            while True:
                ask = walk.send(self._policy.check(self._checker, "prompt", text=ask.text, role=ask.role,
                                                   context=ask.context))
        except StopIteration as done:
            safe, prompt = done.value
        response = self._inner.create(messages=safe, **kwargs)
        if kwargs.get("stream"):
            return self._stream(response, prompt, session)
        try:
            for choice in response.choices:
                answer = choice.message.content
                if isinstance(answer, str) and answer.strip():
                    answer = session.canonical(answer) if session is not None else answer
                    verdict = self._policy.check(self._checker, "answer", text=answer, role="assistant",
                                                 context=prompt or None)
                    choice.message.content = self._answered(verdict, answer, prompt, session)
        finally:
            if session is not None:
                session.close()
        return response

    async def _acreate(self, messages: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        self._can_stream(kwargs)
        session = self._session()
        walk = _walk(messages, self._memory, session)
        try:
            ask = next(walk)
            while True:
                ask = walk.send(await self._policy.acheck(self._checker, "prompt", text=ask.text, role=ask.role,
                                                          context=ask.context))
        except StopIteration as done:
            safe, prompt = done.value
        response = await self._inner.create(messages=safe, **kwargs)
        if kwargs.get("stream"):
            return self._astream(response, prompt, session)
        try:
            for choice in response.choices:
                answer = choice.message.content
                if isinstance(answer, str) and answer.strip():
                    answer = session.canonical(answer) if session is not None else answer
                    verdict = await self._policy.acheck(self._checker, "answer", text=answer, role="assistant",
                                                        context=prompt or None)
                    choice.message.content = self._answered(verdict, answer, prompt, session)
        finally:
            if session is not None:
                session.close()
        return response

    def _can_stream(self, kwargs: dict[str, Any]) -> None:
        """Refuse stream=True before the LLM is called when the checker cannot moderate a stream."""
        if kwargs.get("stream") and not callable(getattr(self._checker, "stream_moderator", None)):
            raise ConfigError("stream=True needs a checker with stream_moderator (Guard, AsyncGuard, "
                              "GuardClient, AsyncGuardClient)")

    def _answered(self, verdict: Verdict | None, answer: str, prompt: str,
                  session: PseudonymSession | None = None) -> str:
        """The answer to return; a checked one is remembered, so that sent back as history it is not
        checked again. With a session, `answer` is canonical and comes back restored."""
        if session is not None:
            shown = session.answer(verdict, answer)
            if verdict is not None:
                self._remember_answer(shown, prompt)
            return shown
        safe = _passed(verdict, answer, "answer")
        if verdict is not None:
            self._remember_answer(safe, prompt)
        return safe

    def _remember_answer(self, shown: str, prompt: str) -> None:
        if shown.strip():  # a keyed digest, and no edits: nothing of the text is kept
            self._memory.put(self._memory.digest("assistant", [MessageText(("content",), shown)], prompt), {})

    def _stream(self, chunks: Any, prompt: str, session: PseudonymSession | None = None) -> Iterator[Any]:
        """The LLM's stream with each choice's text moderated (guard.stream): held back, masked, or
        BlockedError; the text a choice still holds goes out with its finish_reason."""
        streams: dict[int, _ChoiceStream] = {}
        last: Any = None
        try:
            for chunk in chunks:
                last = chunk
                for choice in getattr(chunk, "choices", None) or ():
                    stream = streams.get(choice.index)
                    if stream is None:
                        stream = streams[choice.index] = _ChoiceStream(self._moderator(prompt, session), choice)
                    text = getattr(choice.delta, "content", None) or ""
                    shown = self._feed(stream, text) if text else ""
                    if choice.finish_reason is not None:
                        shown += self._finish(stream, prompt)
                    if text or shown:
                        choice.delta.content = shown
                yield chunk
            for stream in streams.values():
                tail = self._finish(stream, prompt)
                if tail:
                    yield _tail_chunk(last, stream.template, tail)
        finally:
            for stream in streams.values():
                stream.close()
            if session is not None:
                session.close()

    def _feed(self, stream: _ChoiceStream, text: str) -> str:
        if stream.take(text):
            return text
        try:
            update = stream.moderator.feed(text)
        except Exception as exc:
            return stream.failed(exc, self._policy)
        if update.blocked:
            raise _blocked(stream.moderator.finish())
        return stream.shown(update)

    def _finish(self, stream: _ChoiceStream, prompt: str) -> str:
        if not stream.needs_check():
            stream.done = True
            return stream.rest()
        stream.done = True
        try:
            update = stream.moderator.finish()
        except Exception as exc:
            return stream.failed(exc, self._policy)
        return self._finished(stream, update, prompt)

    def _finished(self, stream: _ChoiceStream, update: StreamUpdate, prompt: str) -> str:
        """The tail a finished choice releases; the whole answer shown is remembered as checked."""
        if update.blocked:
            raise _blocked(update)
        tail = stream.shown(update)
        self._remember_answer(stream.shown_text, prompt)
        return tail

    async def _astream(self, chunks: Any, prompt: str, session: PseudonymSession | None = None
                       ) -> AsyncIterator[Any]:
        streams: dict[int, _ChoiceStream] = {}
        last: Any = None
        try:
            async for chunk in chunks:
                last = chunk
                for choice in getattr(chunk, "choices", None) or ():
                    stream = streams.get(choice.index)
                    if stream is None:
                        stream = streams[choice.index] = _ChoiceStream(self._moderator(prompt, session), choice)
                    text = getattr(choice.delta, "content", None) or ""
                    shown = await self._afeed(stream, text) if text else ""
                    if choice.finish_reason is not None:
                        shown += await self._afinish(stream, prompt)
                    if text or shown:
                        choice.delta.content = shown
                yield chunk
            for stream in streams.values():
                tail = await self._afinish(stream, prompt)
                if tail:
                    yield _tail_chunk(last, stream.template, tail)
        finally:
            for stream in streams.values():
                stream.close()
            if session is not None:
                session.close()

    async def _afeed(self, stream: _ChoiceStream, text: str) -> str:
        if stream.take(text):
            return text
        try:
            update = await stream.moderator.feed(text)
        except Exception as exc:
            return stream.failed(exc, self._policy)
        if update.blocked:
            raise _blocked(await stream.moderator.finish())
        return stream.shown(update)

    async def _afinish(self, stream: _ChoiceStream, prompt: str) -> str:
        if not stream.needs_check():
            stream.done = True
            return stream.rest()
        stream.done = True
        try:
            update = await stream.moderator.finish()
        except Exception as exc:
            return stream.failed(exc, self._policy)
        return self._finished(stream, update, prompt)


class _Chat:
    def __init__(self, completions: _Completions) -> None:
        self.completions = completions


class GuardedChatClient:
    """An OpenAI-style client (`client.chat.completions.create(messages=...)`) behind the guard.

    Before the call, every text of every message is checked: string content and the text parts of
    content lists, in every role (system, developer, user, assistant, tool), and tool-call arguments;
    each is masked in the request, or BlockedError. A message is checked once: the client remembers
    what it sent for it (guard.messages.CheckedMessages), so an app's history, which keeps the
    original texts, is never sent raw on a later call. Every returned choice is checked after the
    call; with `stream=True` the answer is moderated as it streams (guard.stream: held back until an
    identifier or a sentence is whole, masked, or BlockedError), and a checker that cannot moderate a
    stream is refused before the call.

    Pass `is_async=True` for an async client with an async checker; `fail_open` and `metrics` as for
    guard_llm (fail closed by default). Images, audio and files in a request are not read.

    With `pseudonymize=True` every text is pseudonymized instead of masked (guard.roundtrip): the LLM
    gets typed placeholders or fakes, and every answer, streamed or not, comes back with the real values.
    Each call has its own session, numbered in the order values first appear in the conversation (so the
    same history gets the same placeholders on every call), dropped when the call (or its stream) ends;
    every message is checked on every call.
    """

    def __init__(self, client: Any, checker: Checker | AsyncChecker, *, is_async: bool = False,
                 fail_open: bool = False, metrics: GuardMetrics | None = None, pseudonymize: bool = False) -> None:
        self.chat = _Chat(_Completions(client.chat.completions, checker, is_async,
                                       _FailPolicy(fail_open, metrics), CheckedMessages(), pseudonymize))


__all__ = ["FAIL_REASONS", "AsyncChecker", "Checker", "GuardedChatClient", "aguard_llm", "fail_reason", "guard_llm"]
