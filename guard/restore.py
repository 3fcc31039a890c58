"""`restore`: the session's real values put back into an LLM's answer, whole or streamed.

What is found in the answer:
- placeholders, also as the LLM rewrote them: other brackets or none (`[이름_1]`, `(PHONE 1)`,
  `PHONE_1`), spaces, case, markdown escapes (`\\<PHONE\\_1\\>`), a translated label (`<NAME_1>`);
- fakes, also respaced (a fake number is found by its digits, with or without separators);
- a Korean particle right after either is made to agree with the restored value's last sound
  (`<이름_1>는` -> `홍길동은`; `<이름_1>(이)가` -> `홍길동이`).
A placeholder the session does not know is left as it is and counted (`Restored.unknown`).

`to="placeholder"` writes each pseudonym's canonical placeholder instead of its value: an answer full of
fakes is brought to placeholders before the guard checks it, so a fake is never masked as if it were
personal data, and the real values are only put in after the check.

`StreamRestorer` does the same to a streamed answer: it holds back a tail that could still become a
pseudonym (a placeholder or a fake split across chunks), and a pseudonym until the particle after it is
known, and releases the rest restored. Whole and streamed restoring give the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guard.fakes import digits_of
from guard.pseudonymize import LABEL_LOOKUP, placeholder
from guard.taxonomy import SpanType
from guard.vault import Entry, Vault

__all__ = ["Restored", "StreamRestorer", "restore"]

_OPEN = "<[({〈《「『【"
_CLOSE = ">])}〉》」』】"
_OPEN_RE, _CLOSE_RE = re.escape(_OPEN), re.escape(_CLOSE)
_O = r"(?:\\?[" + _OPEN_RE + r"]){1,2}"
_C = r"(?:\\?[" + _CLOSE_RE + r"]){1,2}"
_KNOWN = "|".join(re.escape(k) for k in sorted(LABEL_LOOKUP, key=len, reverse=True))
# A: in brackets, any label (an unknown one is counted), any separator: "<PHONE_1>", "[이름 1]", "<X_3>".
# B: a known label joined to its number by "_" or "-", brackets optional: "PHONE_1", "<이름-2", "\\<EMAIL\\_1\\>".
_PLACEHOLDER = (
    r"(?P<oa>" + _O + r")[ \t]{0,2}(?P<la>[A-Za-z가-힣]{1,20}(?:_[A-Za-z가-힣]{1,20})?)"
    r"(?P<sa>[ \t]{0,2}\\?[_\-][ \t]{0,2}|[ \t]{0,2})(?P<na>[0-9]{1,6})[ \t]{0,2}(?P<ca>" + _C + r")"
    r"|(?:(?P<ob>" + _O + r")[ \t]{0,2}|(?<![A-Za-z0-9_\\가-힣]))(?P<lb>(?i:" + _KNOWN + r"))"
    r"[ \t]{0,2}\\?[_\-][ \t]{0,2}(?P<nb>[0-9]{1,6})(?![0-9])(?:[ \t]{0,2}(?P<cb>" + _C + r"))?"
)
_PLACEHOLDER_RE = re.compile(_PLACEHOLDER)
_WORDISH = re.compile(r"[A-Za-z0-9_\\]")
#: Particles after a noun, as (after a final consonant, after a vowel); the longest are tried first.
_PARTICLES = (("이에요", "예요"), ("이랑", "랑"), ("으로", "로"), ("이나", "나"), ("은", "는"), ("이", "가"),
              ("을", "를"), ("과", "와"))
_DUAL: dict[str, tuple[str, str]] = {}
for _with, _without in _PARTICLES:
    for form in (f"{_with}({_without})", f"{_without}({_with})"):
        _DUAL[form] = (_with, _without)
for _with, _without in (("은", "는"), ("이", "가"), ("을", "를"), ("으로", "로"), ("이랑", "랑"), ("이나", "나")):
    _DUAL[f"({_with[0]}){_without}" if _with.endswith(_without) else f"({_with}){_without}"] = (_with, _without)
_SINGLE: dict[str, tuple[str, str]] = {p: pair for pair in _PARTICLES for p in pair}
_FORMS = sorted([*_DUAL, *_SINGLE], key=len, reverse=True)
_MAX_PARTICLE = max(len(f) for f in _FORMS) + 1
# How a digit is read (영 일 이 삼 사 오 육 칠 팔 구): final consonant, and whether it is ㄹ.
_DIGIT_FINAL = {"0": (True, False), "1": (True, True), "2": (False, False), "3": (True, False),
                "4": (False, False), "5": (False, False), "6": (True, False), "7": (True, True),
                "8": (True, True), "9": (False, False)}
_FLEX_DIGITS = 8  # fake numbers with at least this many digits are found whatever their separators
_FLEX_TYPES = frozenset({SpanType.RRN, SpanType.FRN, SpanType.PHONE, SpanType.CARD, SpanType.ACCOUNT,
                         SpanType.DRIVER_LICENSE})


@dataclass(frozen=True)
class Restored:
    """An answer restored: the text, pseudonyms put back, unknown placeholders left as they are."""

    text: str
    restored: int
    unknown: int


def _final(value: str) -> tuple[bool, bool] | None:
    """(ends in a consonant, that consonant is ㄹ) for the value's last character, None if unknown."""
    if not value:
        return None
    last = value.rstrip()[-1:] or value[-1]
    if "가" <= last <= "힣":
        jong = (ord(last) - 0xAC00) % 28
        return jong != 0, jong == 8
    return _DIGIT_FINAL.get(last)


def _particle(value: str, following: str) -> tuple[int, str] | None:
    """(characters consumed, the particle to write) when `following` opens with a particle that should
    agree with `value`; None to leave it alone."""
    for form in _FORMS:
        if not following.startswith(form):
            continue
        after = following[len(form):len(form) + 1]
        if after and "가" <= after <= "힣":
            return None  # not a particle on its own: the start of a longer word
        final = _final(value)
        if final is None:
            return None
        with_, without = _DUAL.get(form) or _SINGLE[form]
        consonant, rieul = final
        if with_ == "으로":
            return len(form), "로" if (not consonant or rieul) else "으로"
        return len(form), with_ if consonant else without
    return None


class _Patterns:
    """The regex of one vault version: placeholders, then the session's fakes (longest first)."""

    def __init__(self, vault: Vault) -> None:
        self.version = vault.version
        self.flex: dict[str, Entry] = {}
        self.exact: dict[str, Entry] = {}
        parts = []
        fakes = sorted((e for e in vault.entries() if e.style == "fake"), key=lambda e: -len(e.pseudonym))
        for e in fakes:
            digits = digits_of(e.pseudonym)
            numeric = not re.search("[A-Za-z가-힣]", e.pseudonym)
            if len(digits) >= _FLEX_DIGITS and e.span_type in _FLEX_TYPES and numeric:
                self.flex[digits] = e
                parts.append(r"(?<![0-9])" + r"[ .\-]?".join(digits) + r"(?![0-9])")
            else:
                self.exact[e.pseudonym.casefold()] = e
                parts.append(_exact(e))
        self.fakes = re.compile("|".join(parts)) if parts else None
        self.prefixes = [(e, digits_of(e.pseudonym) if digits_of(e.pseudonym) in self.flex else None)
                         for e in fakes]
        # how far back a tail that could still grow into a pseudonym can begin
        self.window = max([64, *(2 * len(e.pseudonym) + 8 for e in fakes)])
        # the fakes a tail may be the start of, by the tail's first character (folded)
        self.by_first: dict[str, list[tuple[Entry, str | None]]] = {}
        for entry, number in self.prefixes:
            self.by_first.setdefault(entry.pseudonym[:1].casefold(), []).append((entry, number))

    def entry_of_fake(self, text: str) -> Entry | None:
        digits = digits_of(text)
        return self.flex.get(digits) or self.exact.get(text.casefold())


def _exact(e: Entry) -> str:
    body = re.escape(e.pseudonym)
    if e.span_type is SpanType.EMAIL:
        return r"(?<![A-Za-z0-9._%+\-])(?i:" + body + r")(?![A-Za-z0-9\-])"
    if e.span_type is SpanType.PERSON:
        if e.pseudonym[:1].isascii():
            return r"(?<![A-Za-z])" + body + r"(?![A-Za-z])"
        # a three-syllable name is found even right after a word ("고객홍길동님"); a shorter one, which
        # could be part of a longer word, only at a word's start
        return body if len(e.pseudonym) >= 3 else r"(?<![가-힣])" + body
    return r"(?<![0-9A-Za-z])" + body + r"(?![0-9])"


class _Restorer:
    """Shared by restore() and StreamRestorer: one pass over a text with the vault's patterns."""

    def __init__(self, vault: Vault, to: str) -> None:
        if to not in ("value", "placeholder"):
            raise ValueError("to must be 'value' or 'placeholder'")
        self.vault = vault
        self.to = to
        self._patterns: _Patterns | None = None
        self.restored = 0
        self.unknown = 0

    @property
    def patterns(self) -> _Patterns:
        if self._patterns is None or self._patterns.version != self.vault.version:
            self._patterns = _Patterns(self.vault)
        return self._patterns

    def matches(self, text: str) -> list[tuple[int, int, Entry | None, bool]]:
        """(start, end, entry or None, is a placeholder) for each pseudonym-like run, in order; where a
        placeholder and a fake overlap, the one that starts first (the placeholder on a tie)."""
        found = []
        for m in _PLACEHOLDER_RE.finditer(text):
            hit = self._placeholder(m)
            if hit is not None:
                found.append((m.start(), m.end(), hit[0], True))
        fakes = self.patterns.fakes
        if fakes is not None:
            for m in fakes.finditer(text):
                entry = self.patterns.entry_of_fake(m.group())
                if entry is not None:
                    found.append((m.start(), m.end(), entry, False))
        out: list[tuple[int, int, Entry | None, bool]] = []
        for item in sorted(found, key=lambda f: (f[0], not f[3])):
            if out and item[0] < out[-1][1]:
                continue
            out.append(item)
        return out

    def _placeholder(self, m: re.Match[str]) -> tuple[Entry | None, bool] | None:
        if m.group("la") is not None:
            label, number, underscore = m.group("la"), m.group("na"), "_" in m.group("sa")
        else:
            label, number, underscore = m.group("lb"), m.group("nb"), True
        canonical = LABEL_LOOKUP.get(label.casefold())
        if canonical is None:
            return (None, True) if underscore else None  # "<X_3>": someone's placeholder, not ours
        return self.vault.entry(placeholder(canonical, int(number))), True

    def run(self, text: str, end: int | None = None, start: int = 0) -> str:
        """`text[start:end]` restored (the text around it is read only for context: what a pseudonym
        follows, the particle after it)."""
        end = len(text) if end is None else end
        out: list[str] = []
        cursor = start
        for start, stop, entry, _ in self.matches(text):
            if start < cursor:
                continue  # its start was consumed as a particle of the one before
            if stop > end:
                break
            out.append(text[cursor:start])
            cursor = stop
            if entry is None:
                self.unknown += 1
                out.append(text[start:stop])
                continue
            self.restored += 1
            if self.to == "placeholder":
                out.append(entry.placeholder)
                continue
            value = self.vault.value(entry.pseudonym) or ""
            out.append(value)
            fix = _particle(value, text[stop:stop + _MAX_PARTICLE])
            if fix is not None and stop + fix[0] <= end:
                out.append(fix[1])
                cursor = stop + fix[0]
        out.append(text[cursor:end])
        return "".join(out)


def restore(text: str, vault: Vault, *, to: str = "value") -> Restored:
    """`text` with the session's pseudonyms replaced by their values (`to="placeholder"`: by their
    canonical placeholders); unknown placeholders left and counted."""
    vault.touch()
    restorer = _Restorer(vault, to)
    out = restorer.run(text)
    return Restored(out, restorer.restored, restorer.unknown)


_WORD_CHAR = re.compile(r"[A-Za-z가-힣_]")
_PH_REST = re.compile(r"[ \t]{0,2}\\?[_\-]?[ \t]{0,2}[0-9]{0,6}[ \t]{0,2}\\?")


def _placeholder_prefix(tail: str) -> tuple[str, bool] | None:
    """(label word, opened) when `tail` could be the start of a placeholder, else None. Read by hand:
    a regex with these optional parts backtracks for a long time on every tail that is not one."""
    i = opened = 0
    while opened < 2 and i < len(tail) and (
            tail[i] in _OPEN or (tail[i] == "\\" and tail[i + 1:i + 2] in ("", *_OPEN))):
        i += 2 if tail[i] == "\\" else 1
        opened += 1
    while i < len(tail) and tail[i] in " \t" and opened:
        i += 1
    start = i
    while i < len(tail) and i - start < 41 and _WORD_CHAR.match(tail[i]):
        i += 1
    if _PH_REST.fullmatch(tail, i) is None:
        return None
    return tail[start:i], opened > 0


_LABEL_FIRST = frozenset(k[0] for k in LABEL_LOOKUP)


class StreamRestorer:
    """Restores a streamed answer chunk by chunk (see the module docstring).

    `feed(chunk)` returns the text released so far restored; `finish()` the rest. `restored` and
    `unknown` count as restore() does.
    """

    def __init__(self, vault: Vault, *, to: str = "value", max_hold: int = 256) -> None:
        self._restorer = _Restorer(vault, to)
        self._pending = ""
        self._before = ""  # the last characters released, as received: what the next text follows
        self.max_hold = max_hold

    @property
    def restored(self) -> int:
        return self._restorer.restored

    @property
    def unknown(self) -> int:
        return self._restorer.unknown

    @property
    def held(self) -> int:
        """Characters received and not released yet."""
        return len(self._pending)

    def feed(self, chunk: str) -> str:
        self._pending += chunk
        text, base = self._before + self._pending, len(self._before)
        cut = self._cut(text, base)
        if cut == base:
            return ""
        out = self._restorer.run(text, cut, base)
        self._before = text[max(0, cut - 2):cut]
        self._pending = text[cut:]
        return out

    def finish(self) -> str:
        out = self._restorer.run(self._before + self._pending, None, len(self._before))
        self._pending = ""
        return out

    def _cut(self, text: str, base: int) -> int:
        """Where the released text ends (`base`: where the unreleased text starts): before any tail that
        could still become a pseudonym, and before a pseudonym whose following particle is not known."""
        n = len(text)
        cut = n
        for i in range(max(base, n - min(self.max_hold, self._restorer.patterns.window)), n):
            if self._could_start(text, i):
                cut = i
                break
        for start, stop, _, _ in reversed(self._restorer.matches(text)):
            if stop + _MAX_PARTICLE <= cut or start < base:
                break
            if stop > cut or not _settled(text[stop:]):
                cut = min(cut, start)  # not whole yet, or the particle after it not known yet
        return cut

    def _could_start(self, text: str, i: int) -> bool:
        """Whether text[i:] (which ends the received text) could grow into a pseudonym."""
        tail = text[i:]
        prev = text[i - 1:i]
        first = tail[0]
        if first in _OPEN or first == "\\" or first.casefold() in _LABEL_FIRST:
            found = _placeholder_prefix(tail)
            if found is not None and self._label_prefix(found[0], opened=found[1], prev=prev):
                return True
        for entry, digits in self._restorer.patterns.by_first.get(first.casefold(), ()):
            if digits is not None:
                if "0" <= first <= "9" and not ("0" <= prev <= "9") and _digit_prefix(tail, digits):
                    return True
            elif entry.pseudonym.casefold().startswith(tail.casefold()):
                return True
        return False

    @staticmethod
    def _label_prefix(word: str, *, opened: bool, prev: str) -> bool:
        if opened:
            return True
        if prev and (_WORDISH.match(prev) or "가" <= prev <= "힣"):
            return False
        folded = word.casefold()
        return folded.rstrip("_") in LABEL_LOOKUP or any(k.startswith(folded) for k in LABEL_LOOKUP)


def _settled(following: str) -> bool:
    """Whether a pseudonym followed by `following` (the rest of the received text) is final: it can
    grow no more (a closing bracket, another digit) and the particle after it is known."""
    if len(following) >= _MAX_PARTICLE:
        return True
    if not following or following[0] in _CLOSE or following[0] in " \t\\" or following[0].isdigit():
        return False
    return not any(f.startswith(following) or following == f for f in _FORMS)


def _digit_prefix(tail: str, digits: str) -> bool:
    if re.fullmatch(r"[0-9]+(?:[ .\-]?[0-9]+)*[ .\-]?", tail) is None:
        return False
    return digits.startswith(digits_of(tail))
