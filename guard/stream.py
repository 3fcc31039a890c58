"""Streaming moderation: an LLM answer arrives in chunks; release what is safe to show, hold the rest.

The logic behind CheckStream, reusable by the SDK on any Guard-like object (sync or async):

* chunks accumulate into the whole answer;
* after each chunk, everything except a held-back tail is released; the tail is the trailing run of
  characters that could still be the start of an identifier (digits, letters, `-_.@+/=()`, Hangul
  numerals, a space after a digit), at most `max_hold` characters, so an RRN split across chunks is
  judged whole before any of it is shown;
* the newly released text is checked together with up to `lookback` characters before it (context for
  the detectors and the model) and its flagged spans are masked per the policy's action;
* once a check says "block", nothing more is released;
* `finish()` releases the tail and returns the verdict of the whole answer.

Known limit: an identifier longer than `max_hold` characters (a long token) can be partly released
before it is complete, and model-tagged spans (names, addresses) are not held back.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from guard.errors import InputError
from guard.policy import Overrides, Policy
from guard.taxonomy import Role, parse_role
from guard.verdict import Action, Span, Verdict

#: Longest identifier held back whole (API keys are the longest ones the detectors know).
DEFAULT_MAX_HOLD = 64
#: Released text already shown that is re-read as context for the next piece.
DEFAULT_LOOKBACK = 256

_DIGITS = frozenset("0123456789０１２３４５６７８９공영일이삼사오육칠팔구")
_FULLWIDTH_LETTERS = "".join(chr(c) for c in range(ord("Ａ"), ord("Ｚ") + 1)) + "".join(
    chr(c) for c in range(ord("ａ"), ord("ｚ") + 1))
_ID_CHARS = frozenset(string.ascii_letters + _FULLWIDTH_LETTERS + "-_.@+/=()－") | _DIGITS
_SPACES = frozenset(" \t\n\r\u00a0\u3000")


def holdback(text: str, max_hold: int = DEFAULT_MAX_HOLD) -> int:
    """How many trailing characters of `text` could still be the start of an identifier.

    Args:
        text: everything received so far.
        max_hold: the cap; an identifier is never longer than this.

    Returns:
        The length of the trailing identifier-like run (a space counts when a digit precedes it,
        since the normalizer joins digits split by spaces), at most `max_hold`.
    """
    n = 0
    i = len(text)
    while i > 0 and n < max_hold:
        ch = text[i - 1]
        if ch not in _ID_CHARS and not (ch in _SPACES and i >= 2 and text[i - 2] in _DIGITS):
            break
        n += 1
        i -= 1
    return n


@dataclass(frozen=True)
class StreamUpdate:
    """What one chunk (or the end of the stream) releases.

    Attributes:
        text: newly released text, masked per the policy; append it to what was shown so far.
        start: offset of `text` in the whole answer.
        spans: flagged spans inside `text`, offsets into the whole answer.
        held: characters received but not released yet.
        blocked: the policy blocked the answer; nothing more is released.
        verdict: the whole answer's verdict, on the last update only.
    """

    text: str
    start: int
    spans: list[Span] = field(default_factory=list)
    held: int = 0
    blocked: bool = False
    verdict: Verdict | None = None


@dataclass(frozen=True)
class _Plan:
    """A piece to release: [released, boundary), checked as text[window_start:boundary]."""

    window_start: int
    released: int
    boundary: int
    text: str          # the window's text
    needs_check: bool  # False when the piece is only whitespace (nothing to find, and empty is invalid)


class _GuardLike(Protocol):
    def mask_spans(self, text: str, spans: Sequence[Span]) -> str: ...

    @property
    def policy(self) -> Policy: ...


class SyncGuardLike(_GuardLike, Protocol):
    def check(self, text: str | None = None, *, role: str | None = None, context: str | None = None,
              overrides: Overrides | None = None) -> Verdict: ...


class AsyncGuardLike(_GuardLike, Protocol):
    async def check(self, text: str | None = None, *, role: str | None = None, context: str | None = None,
                    overrides: Overrides | None = None, deadline: float | None = None) -> Verdict: ...


Masker = Callable[[str, Sequence[Span]], str]


class _StreamCore:
    """The pure state of one stream: no I/O, no guard calls; the drivers below do those."""

    def __init__(self, policy: Policy, masker: Masker, *, role: str, context: str | None,
                 overrides: Overrides | None, max_hold: int, lookback: int, max_chars: int | None) -> None:
        if max_hold < 1 or lookback < 0:
            raise InputError("max_hold must be at least 1 and lookback not negative")
        self.role: Role = parse_role(role)
        self.context = context or None
        user = (overrides or Overrides()).validated()
        self.final_overrides = replace(user, return_spans=True)
        self.window_overrides = replace(user, return_spans=True, return_masked=False)
        self._user = user
        self._policy = policy
        self._mask = masker
        self._max_hold = max_hold
        self._lookback = lookback
        self._max_chars = max_chars
        self._parts: list[str] = []
        self._length = 0
        self._text_cache: str | None = ""
        self.released = 0
        self.blocked = False

    @property
    def text(self) -> str:
        if self._text_cache is None:
            self._text_cache = "".join(self._parts)
            self._parts = [self._text_cache]
        return self._text_cache

    def push(self, chunk: str) -> None:
        if not isinstance(chunk, str):
            raise InputError(f"a stream chunk must be a string, not {type(chunk).__name__}")
        if self._max_chars is not None and self._length + len(chunk) > self._max_chars:
            raise InputError(f"the stream exceeds the limit of {self._max_chars} characters")
        if chunk:
            self._parts.append(chunk)
            self._length += len(chunk)
            self._text_cache = None

    def plan(self, final: bool = False) -> _Plan | None:
        """The next piece to release, or None when there is nothing new (or the stream is blocked)."""
        if self.blocked:
            return None
        text = self.text
        boundary = len(text) if final else max(len(text) - holdback(text, self._max_hold), self.released)
        if boundary <= self.released:
            return None
        start = self._window_start(text)
        needs_check = bool(text[self.released:boundary].strip())
        return _Plan(start, self.released, boundary, text[start:boundary], needs_check)

    def _window_start(self, text: str) -> int:
        start = max(0, self.released - self._lookback)
        if start > 0:
            # Begin at a word boundary so the context does not open with half an identifier.
            space = next((i for i in range(start, self.released) if text[i] in _SPACES), None)
            start = space + 1 if space is not None else self.released
        return start

    def apply(self, plan: _Plan, verdict: Verdict | None) -> StreamUpdate:
        """Release the plan's piece, masked per `verdict` (None: the piece needed no check)."""
        if verdict is not None and verdict.action == Action.BLOCK.value:
            self.blocked = True
            return self.nothing()
        spans = [] if verdict is None else self._clipped(verdict.spans, plan.window_start, plan.released,
                                                         plan.boundary)
        return self._release(plan.released, plan.boundary, spans)

    def nothing(self) -> StreamUpdate:
        return StreamUpdate("", self.released, [], self._length - self.released, self.blocked)

    def final_text(self) -> str:
        if not self.text.strip():
            raise InputError("the stream sent no text")
        return self.text

    def finalize(self, verdict: Verdict) -> StreamUpdate:
        """Release the tail with the whole answer's verdict, and return that verdict to the caller."""
        if verdict.action == Action.BLOCK.value:
            self.blocked = True
        update = self.nothing()
        if not self.blocked and self.released < self._length:
            update = self._release(self.released, self._length,
                                   self._clipped(verdict.spans, 0, self.released, self._length))
        final = verdict if self._user.return_spans else replace(verdict, spans=[])
        return replace(update, verdict=final)

    def _clipped(self, spans: Sequence[Span], offset: int, lo: int, hi: int) -> list[Span]:
        """Spans to mask, moved to whole-answer offsets and cut to [lo, hi)."""
        out = []
        for s in spans:
            start, end = max(s.start + offset, lo), min(s.end + offset, hi)
            if start < end and self._action(s.category).rank >= Action.MASK.rank:
                out.append(replace(s, start=start, end=end))
        return out

    def _action(self, code: str) -> Action:
        if code in self._user.actions:
            return Action(self._user.actions[code])
        return self._policy.action(self.role, code)

    def _release(self, lo: int, hi: int, spans: list[Span]) -> StreamUpdate:
        piece = self.text[lo:hi]
        local = [replace(s, start=s.start - lo, end=s.end - lo) for s in spans]
        masked = self._mask(piece, local) if local else piece
        self.released = hi
        return StreamUpdate(masked, lo, spans, self._length - hi, self.blocked)


class StreamModerator:
    """Moderates one streamed answer with a synchronous Guard.

    Args:
        guard: a Guard (or anything with `policy` and `check(text, role=, context=, overrides=)`).
        role: whose text is streamed; "assistant" for an LLM answer.
        context: the prompt the answer replies to.
        overrides: per-stream policy changes (validated here; InputError when bad).
        max_hold: the longest tail held back.
        lookback: released characters re-read as context.
        max_chars: the longest answer accepted (InputError beyond).
    """

    def __init__(self, guard: SyncGuardLike, *, role: str = "assistant", context: str | None = None,
                 overrides: Overrides | None = None, max_hold: int = DEFAULT_MAX_HOLD,
                 lookback: int = DEFAULT_LOOKBACK, max_chars: int | None = None) -> None:
        self._guard = guard
        self._core = _StreamCore(guard.policy, guard.mask_spans, role=role, context=context,
                                 overrides=overrides, max_hold=max_hold, lookback=lookback,
                                 max_chars=max_chars)

    def feed(self, chunk: str) -> StreamUpdate:
        """Add a chunk; return what can be shown now."""
        core = self._core
        core.push(chunk)
        plan = core.plan()
        if plan is None:
            return core.nothing()
        verdict = (self._guard.check(plan.text, role=core.role.value, context=core.context,
                                     overrides=core.window_overrides) if plan.needs_check else None)
        return core.apply(plan, verdict)

    def finish(self) -> StreamUpdate:
        """End of the answer: release the rest and return the whole answer's verdict."""
        core = self._core
        verdict = self._guard.check(core.final_text(), role=core.role.value, context=core.context,
                                    overrides=core.final_overrides)
        return core.finalize(verdict)


class AsyncStreamModerator:
    """StreamModerator for an AsyncGuard; `deadline` (time.monotonic()) bounds each check."""

    def __init__(self, guard: AsyncGuardLike, *, role: str = "assistant", context: str | None = None,
                 overrides: Overrides | None = None, max_hold: int = DEFAULT_MAX_HOLD,
                 lookback: int = DEFAULT_LOOKBACK, max_chars: int | None = None) -> None:
        self._guard = guard
        self._core = _StreamCore(guard.policy, guard.mask_spans, role=role, context=context,
                                 overrides=overrides, max_hold=max_hold, lookback=lookback,
                                 max_chars=max_chars)

    @property
    def role(self) -> str:
        return self._core.role.value

    def add(self, chunk: str) -> StreamUpdate:
        """Add a chunk without a check, when a later chunk is already waiting: the next feed() (or
        finish()) checks both at once. Returns an update that releases nothing."""
        self._core.push(chunk)
        return self._core.nothing()

    async def feed(self, chunk: str, *, deadline: float | None = None) -> StreamUpdate:
        core = self._core
        core.push(chunk)
        plan = core.plan()
        if plan is None:
            return core.nothing()
        verdict = None
        if plan.needs_check:
            verdict = await self._guard.check(plan.text, role=core.role.value, context=core.context,
                                              overrides=core.window_overrides, deadline=deadline)
        return core.apply(plan, verdict)

    async def finish(self, *, deadline: float | None = None) -> StreamUpdate:
        core = self._core
        verdict = await self._guard.check(core.final_text(), role=core.role.value, context=core.context,
                                          overrides=core.final_overrides, deadline=deadline)
        return core.finalize(verdict)


__all__ = ["AsyncStreamModerator", "StreamModerator", "StreamUpdate", "holdback"]
