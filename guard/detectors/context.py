"""Context words around a candidate (presidio's context enhancer, as a gate and a score boost).

Weak shapes (passport, driver licence, bank account numbers) match countless product and order codes;
they count only when a context word ("여권", "운전면허", "계좌" ...) stands near them. `ContextWords`
looks in a window of characters before and after a candidate. Latin words must stand alone ("pin" in
"shopping" does not count); Korean words may carry particles ("여권번호는", "계좌로").

Also shared by the detectors: `digit_boundary`, the look-arounds that keep a pattern from matching
inside a longer digit or code run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["CONTEXT_AFTER", "CONTEXT_MIN_DIGITS", "ContextWords", "NOT_AFTER", "NOT_BEFORE"]

#: How far after a candidate its context words are looked for (every detector uses this window): a
#: stream holds a number back until this many characters follow it.
CONTEXT_AFTER = 16
#: The fewest digits in a candidate of a detector that needs a context word (a passport's 3 + 4).
CONTEXT_MIN_DIGITS = 7

#: Put in front of a digit pattern: no digit, Latin letter, or "digit-" run just before it.
NOT_AFTER = r"(?<![0-9A-Za-z])(?<![0-9][\-.])"
#: Put after a digit pattern: no digit, Latin letter or "-digit" right after it (Korean particles may
#: follow: "900101-1234568이고").
NOT_BEFORE = r"(?![0-9A-Za-z])(?![\-.][0-9])"


def _word_pattern(word: str) -> str:
    escaped = re.escape(word)
    if word.isascii() and word[:1].isalnum():
        # Latin words are whole words; a following Korean particle is fine ("PIN은").
        return rf"(?<![a-z0-9]){escaped}(?![a-z])"
    return escaped


@dataclass(frozen=True)
class ContextWords:
    """A set of context words and the window they are looked for in.

    Attributes:
        words: the words, any case.
        before: characters looked at before the candidate.
        after: characters looked at after it.
    """

    words: tuple[str, ...]
    before: int = 32
    after: int = CONTEXT_AFTER
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Longest first, so an alternation prefers "여권번호" over "여권" (same answer, clearer spans).
        alternatives = sorted({_word_pattern(w) for w in self.words}, key=len, reverse=True)
        object.__setattr__(self, "_regex", re.compile("|".join(alternatives), re.IGNORECASE))

    @classmethod
    def of(cls, words: Iterable[str], *, before: int = 32, after: int = CONTEXT_AFTER) -> ContextWords:
        return cls(tuple(words), before, after)

    def near(self, text: str, start: int, end: int) -> bool:
        """True when a context word occurs within the window around text[start:end]."""
        lo = max(0, start - self.before)
        hi = min(len(text), end + self.after)
        return bool(self._regex.search(text[lo:start]) or self._regex.search(text[end:hi]))

    def find_all(self, text: str) -> list[tuple[int, int]]:
        """Spans of every context word in `text` (used by detectors that anchor on the word)."""
        return [m.span() for m in self._regex.finditer(text)]
