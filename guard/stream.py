"""Streaming moderation: an LLM answer arrives in chunks; release what is safe to show, hold the rest.

The logic behind CheckStream, reusable by the SDK on any Guard-like object (sync or async):

* chunks accumulate into the whole answer;
* after each chunk, everything except a held-back tail is released. Two rules hold text back, and the
  longer tail wins:
  - identifiers: the trailing run of characters that could still be part of one (`holdback`), derived
    from the character classes the normalizer and the detectors use (guard.chars: anything that folds to
    visible ASCII, Hangul numerals, invisible characters, and a separator after a digit such as " - ",
    an en dash or "~"), at most `max_hold` characters, so an identifier split across chunks is judged
    whole before any of it is shown; a private key block is held from its BEGIN line to its END line;
  - names and addresses, which only the model finds: the unfinished sentence (`sentence_hold`), at most
    `max_sentence_hold` characters, so the model sees a name with its sentence around it before any of
    it is shown (bench/stream_hold.py measures what this costs);
* the newly released text is checked together with up to `lookback` characters before it (context for
  the detectors and the model) and its flagged spans are masked per the policy's action; a span that
  began in text already released is masked whole and then cut, so a partial mask (`010-****-5678`)
  never treats a fragment as the whole number;
* once a check says "block", nothing more is released;
* `finish()` releases the tail and returns the verdict of the whole answer.

Known limits: a token longer than `max_hold` characters, or a name at the cut of a sentence longer than
`max_sentence_hold`, can be partly released before it is judged whole; and the model's answer about a
released piece can change with text that arrives later. The detectors' cannot: they read no further
than CONTEXT_AFTER characters past a number, and the hold-back waits for those.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from guard.chars import MAX_GROUP_SEP, digit_like, fold, identifier_like, separator_prefix
from guard.detectors.context import CONTEXT_AFTER, CONTEXT_MIN_DIGITS
from guard.detectors.secret import open_private_key
from guard.errors import InputError, TooLargeError
from guard.policy import Overrides, Policy, Rules
from guard.taxonomy import Role
from guard.verdict import Action, Span, StreamUpdate, Verdict

#: Longest identifier held back whole (API keys are the longest ones the detectors know).
DEFAULT_MAX_HOLD = 64
#: Longest unfinished sentence held back (names and addresses); 0 turns the sentence rule off.
DEFAULT_MAX_SENTENCE_HOLD = 96
#: Released text already shown that is re-read as context for the next piece.
DEFAULT_LOOKBACK = 256

_SPACES = frozenset(" \t\n\r\u00a0\u3000")
# A sentence ends at a line break, or at a final mark (and closing quotes) followed by whitespace:
# "3.14" and "kim.minsu@" do not end one.
_SENTENCE_END = re.compile("\n|[.!?。．！？…][\"'”’)\\]」』]*\\s")


def holdback(text: str, max_hold: int = DEFAULT_MAX_HOLD) -> int:
    """How many trailing characters of `text` could still be part of an identifier, or change whether one
    is reported.

    Args:
        text: everything received so far.
        max_hold: the cap on one identifier-like run; an identifier is never longer than this.

    Returns:
        The trailing identifier-like run (`_run_start`), at most `max_hold` characters; and when a number
        long enough for a detector that needs a context word ended fewer than CONTEXT_AFTER characters
        ago, everything from that number on, since the word may still follow it ("110-123-456789
        계좌로": an account only with its word). A private key block without its END line yet is held
        whole, whatever its length (it has spaces and line breaks).
    """
    key = open_private_key(text)
    if key is not None:
        return len(text) - key
    hold_from = i = _run_start(text, len(text), max_hold)
    while i > 0 and len(text) - i < CONTEXT_AFTER:
        if not digit_like(text[i - 1]):
            i -= 1
            continue
        end, i = i, _run_start(text, i, max_hold)
        if sum(digit_like(c) for c in text[i:end]) >= CONTEXT_MIN_DIGITS:
            hold_from = i
    return len(text) - hold_from


def _run_start(text: str, end: int, max_hold: int) -> int:
    """Where the identifier-like run ending at `end` starts (at most `max_hold` characters back):
    characters that fold to visible ASCII or are Hangul numerals, characters the normalizer drops, and
    a separator between digit groups (whitespace, with a dash, dot or "~" in it) after a digit."""
    i = end
    while i > 0 and end - i < max_hold:
        ch = text[i - 1]
        if identifier_like(ch) or not fold(ch):  # dropped characters are invisible to the detectors
            i -= 1
            continue
        start = _separator_start(text, i)
        if start is None:
            break
        i = start
    return max(i, end - max_hold)


def _separator_start(text: str, end: int) -> int | None:
    """Where a digit-group separator ending at `end` starts, when a digit precedes it; else None."""
    for start in range(end - 1, max(end - MAX_GROUP_SEP, 1) - 1, -1):
        folded = "".join(fold(c) for c in text[start:end])
        if separator_prefix(folded) and digit_like(text[start - 1]):
            return start
    return None


def sentence_hold(text: str, max_hold: int = DEFAULT_MAX_SENTENCE_HOLD) -> int:
    """How many trailing characters of `text` belong to an unfinished sentence, at most `max_hold`."""
    if max_hold <= 0:
        return 0
    lo = max(0, len(text) - max_hold)
    end = lo
    for m in _SENTENCE_END.finditer(text, max(0, lo - 8)):  # a mark just before lo may end at lo
        end = max(end, m.end())
    return len(text) - end


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
    def check(self, text: str | None = None, *, context: str | None = None, rules: Rules | None = None,
              ) -> Verdict: ...


class AsyncGuardLike(_GuardLike, Protocol):
    async def check(self, text: str | None = None, *, context: str | None = None, rules: Rules | None = None,
                    deadline: float | None = None) -> Verdict: ...


Masker = Callable[[str, Sequence[Span]], str]


class _StreamCore:
    """The pure state of one stream: no I/O, no guard calls; the drivers below do those."""

    def __init__(self, policy: Policy, masker: Masker, *, role: str, context: str | None,
                 overrides: Overrides | None, max_hold: int, max_sentence_hold: int, lookback: int,
                 max_chars: int | None) -> None:
        if max_hold < 1 or lookback < 0 or max_sentence_hold < 0:
            raise InputError("max_hold must be at least 1, max_sentence_hold and lookback not negative")
        # The policy is resolved once for the whole stream (role and overrides checked here), and every
        # check of it applies these rules: the windows', the whole answer's and what is released.
        self.rules = policy.resolve(role, overrides)
        self.role: Role = self.rules.role
        self.context = context or None
        self.final_rules = replace(self.rules, return_spans=True)
        self.window_rules = replace(self.rules, return_spans=True, return_masked=False)
        self._mask = masker
        self._max_hold = max_hold
        self._max_sentence_hold = max_sentence_hold
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
            raise TooLargeError(f"the stream is too large: it exceeds the limit of {self._max_chars} characters")
        if chunk:
            self._parts.append(chunk)
            self._length += len(chunk)
            self._text_cache = None

    def plan(self, final: bool = False) -> _Plan | None:
        """The next piece to release, or None when there is nothing new (or the stream is blocked)."""
        if self.blocked:
            return None
        text = self.text
        held = max(holdback(text, self._max_hold), sentence_hold(text, self._max_sentence_hold))
        boundary = len(text) if final else max(len(text) - held, self.released)
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
        final = verdict if self.rules.return_spans else replace(verdict, spans=[])
        return replace(update, verdict=final)

    def _clipped(self, spans: Sequence[Span], offset: int, lo: int, hi: int) -> list[Span]:
        """Spans to mask that reach into [lo, hi), moved to whole-answer offsets and cut at `hi` only:
        where a span began before `lo` still matters for masking it (see `_mask_from`)."""
        out = []
        for s in spans:
            start, end = s.start + offset, min(s.end + offset, hi)
            if max(start, lo) < end and self.rules.masks(s.category):
                out.append(replace(s, start=start, end=end))
        return out

    def _release(self, lo: int, hi: int, spans: list[Span]) -> StreamUpdate:
        text = self.text
        out: list[str] = []
        cursor = lo
        for s in sorted(spans, key=lambda s: (s.start, -s.end)):
            if s.end <= cursor:
                continue  # inside a span already masked
            start = max(s.start, cursor)
            out.append(text[cursor:start])
            out.append(self._mask_from(s, start))
            cursor = s.end
        out.append(text[cursor:hi])
        self.released = hi
        shown = [replace(s, start=max(s.start, lo)) for s in spans]
        return StreamUpdate("".join(out), lo, shown, self._length - hi, self.blocked)

    def _mask_from(self, span: Span, start: int) -> str:
        """The mask of `span` from `start` on. The whole span is masked, then cut: a partial mask of the
        fragment alone would keep its first digits ("1234-5678" of a phone) as if they were the head."""
        whole = self._mask(self.text[span.start:span.end], [replace(span, start=0, end=span.end - span.start)])
        skip = start - span.start
        if skip == 0:
            return whole
        if len(whole) == span.end - span.start:
            return whole[skip:]  # a mask that keeps the length lines up character by character
        return whole  # a placeholder or a hash has no characters to line up: it stands for the rest


class StreamModerator:
    """Moderates one streamed answer with a synchronous Guard.

    Args:
        guard: a Guard (or anything with `policy`, `mask_spans` and `check(text, context=, rules=)`).
        role: whose text is streamed; "assistant" for an LLM answer.
        context: the prompt the answer replies to.
        overrides: per-stream policy changes (validated here; InputError when bad).
        max_hold: the longest identifier-like tail held back.
        max_sentence_hold: the longest unfinished sentence held back (0: none).
        lookback: released characters re-read as context.
        max_chars: the longest answer accepted (InputError beyond).
    """

    def __init__(self, guard: SyncGuardLike, *, role: str = "assistant", context: str | None = None,
                 overrides: Overrides | None = None, max_hold: int = DEFAULT_MAX_HOLD,
                 max_sentence_hold: int = DEFAULT_MAX_SENTENCE_HOLD, lookback: int = DEFAULT_LOOKBACK,
                 max_chars: int | None = None) -> None:
        self._guard = guard
        self._core = _StreamCore(guard.policy, guard.mask_spans, role=role, context=context,
                                 overrides=overrides, max_hold=max_hold,
                                 max_sentence_hold=max_sentence_hold, lookback=lookback, max_chars=max_chars)

    def feed(self, chunk: str) -> StreamUpdate:
        """Add a chunk; return what can be shown now."""
        core = self._core
        core.push(chunk)
        plan = core.plan()
        if plan is None:
            return core.nothing()
        verdict = (self._guard.check(plan.text, context=core.context, rules=core.window_rules)
                   if plan.needs_check else None)
        return core.apply(plan, verdict)

    def finish(self) -> StreamUpdate:
        """End of the answer: release the rest and return the whole answer's verdict."""
        core = self._core
        verdict = self._guard.check(core.final_text(), context=core.context, rules=core.final_rules)
        return core.finalize(verdict)


class AsyncStreamModerator:
    """StreamModerator for an AsyncGuard; `deadline` (time.monotonic()) bounds each check."""

    def __init__(self, guard: AsyncGuardLike, *, role: str = "assistant", context: str | None = None,
                 overrides: Overrides | None = None, max_hold: int = DEFAULT_MAX_HOLD,
                 max_sentence_hold: int = DEFAULT_MAX_SENTENCE_HOLD, lookback: int = DEFAULT_LOOKBACK,
                 max_chars: int | None = None) -> None:
        self._guard = guard
        self._core = _StreamCore(guard.policy, guard.mask_spans, role=role, context=context,
                                 overrides=overrides, max_hold=max_hold,
                                 max_sentence_hold=max_sentence_hold, lookback=lookback, max_chars=max_chars)

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
            verdict = await self._guard.check(plan.text, context=core.context, rules=core.window_rules,
                                              deadline=deadline)
        return core.apply(plan, verdict)

    async def finish(self, *, deadline: float | None = None) -> StreamUpdate:
        core = self._core
        verdict = await self._guard.check(core.final_text(), context=core.context, rules=core.final_rules,
                                          deadline=deadline)
        return core.finalize(verdict)


__all__ = ["AsyncStreamModerator", "StreamModerator", "StreamUpdate", "holdback", "sentence_hold"]
