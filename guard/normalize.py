"""Text normalization before detection, with a map back to the caller's offsets.

`normalize(text)` turns what people type to dodge or just by habit into one canonical form the detectors
and the model see:

1. characters that carry nothing are dropped (controls except ``\\n``/``\\t``, format characters such as
   zero-width spaces and bidi marks, lone surrogates, Hangul fillers); ``\\r``, ``\\v``, ``\\f`` and other
   line separators become ``\\n``;
2. Unicode NFKC (fullwidth digits and letters, circled digits, compatibility jamo), then every dash
   (U+2010-2015, U+2212, ...) becomes ``-``;
3. Hangul numerals (공/영 0, 일 1 ... 구 9) become digits, but only inside a digit-like run (see
   `_hangul_numerals`), so "일이 있어" and "오늘" stay words; "~" between the digit groups of an
   identifier-length run (9-19 digits) becomes "-" ("900101~1234568"), a range ("2020~2023") stays;
4. digit groups split by spaces, line breaks or spaced dots/hyphens are joined when the run is as long as
   an identifier (9-19 digits): "9 0 0 1 0 1 - 1 2 3 4 5 6 8" -> "900101-1234568",
   "010. 1234. 5678" -> "010.1234.5678"; dates, prices and versions are too short to be touched.

Every step is linear in the text. Step 3 keeps the length; steps 1-2 and 4 record an offset map so that
`Normalized.to_original` can turn a span of the normalized text into a span of the original.
Normalizing twice changes nothing (tested with hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from guard.chars import DASH_CHARS, DASH_TABLE, GROUP_SEP, MAX_GROUP_SEP, NUMERALS, TO_NEWLINE, dropped
from guard.errors import InputError

__all__ = ["Normalized", "normalize"]

# Characters that never combine with what precedes them and that NFKC leaves alone: text made only of
# these needs no per-character work (the fast path for ASCII and Korean).
_SIMPLE = re.compile(
    "[\t\n\x20-\x7e\u00c0-\u00ff\u0400-\u0482\u048a-\u04ff\u05d0-\u05ea\u0621-\u064a\u0e01-\u0e30"
    "\u3001-\u3003\u300c-\u300f\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff\uac00-\ud7a3]+"
)

# Starters (combining class 0) that still compose with the character before them (UCD 14, computed
# from the canonical decompositions), plus the Hangul medial vowels and final consonants. A segment
# may not start before one of these.
_COMPOSES_BACKWARD = frozenset(
    [chr(c) for c in (0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6,
                      0x0D3E, 0x0D57, 0x0DCF, 0x0DDF, 0x0FB5, 0x0FB7, 0x102E, 0x1B35, 0x11127, 0x1133E,
                      0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF, 0x11930)]
    + [chr(c) for c in range(0x1161, 0x1176)] + [chr(c) for c in range(0x11A8, 0x11C3)]
)
_N = "".join(NUMERALS)  # the numeral syllables, for the character classes below
_NUMERAL_GROUP = re.compile(f"[{_N}0-9]+")
# Runs never leave a stretch of numerals, digits and separator characters.
_NUMERAL_STRETCH = re.compile(f"[{_N}0-9][{_N}0-9 \t\n.\\-]*")
# A run qualifies only if one of its groups holds three numerals, so it starts with a numeral and two
# more group characters: a cheap test that skips the group walk on almost every text.
_NUMERAL_ANCHOR = re.compile(f"[{_N}][{_N}0-9]{{2}}")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_DIGIT_REGION = re.compile(r"(?<![0-9])[0-9](?:[0-9 \t\n.\-]*[0-9])?")
_DIGIT_SPLIT = re.compile(r"([^0-9]+)")
_WS = frozenset(" \t\n")
_MIN_NUMERALS, _MIN_RUN = 4, 7         # Hangul numerals in a run, digits in a run (numerals included)
_MIN_JOIN, _MAX_JOIN = 9, 19           # digits in a spaced run worth joining: phones to card numbers


class _OffsetMap:
    """Pieces mapping an output text to an input text.

    A piece is output[dst:dst+dn] <- input[src:src+sn]; an identity piece maps character by character
    (dn == sn), any other piece maps as a whole. Input characters covered by no piece were dropped.
    """

    __slots__ = ("dst", "src", "dn", "sn", "ident", "out_len", "in_len")

    def __init__(self, in_len: int) -> None:
        self.dst: list[int] = []
        self.src: list[int] = []
        self.dn: list[int] = []
        self.sn: list[int] = []
        self.ident: list[bool] = []
        self.out_len = 0
        self.in_len = in_len

    def add(self, src: int, sn: int, dn: int, ident: bool) -> None:
        if dn == 0:
            return
        if ident and self.ident and self.ident[-1] and self.src[-1] + self.sn[-1] == src:
            self.dn[-1] += dn
            self.sn[-1] += sn
        else:
            self.dst.append(self.out_len)
            self.src.append(src)
            self.dn.append(dn)
            self.sn.append(sn)
            self.ident.append(ident)
        self.out_len += dn

    def _start(self, pos: int) -> int:
        if pos >= self.out_len:
            return self.in_len
        i = bisect_right(self.dst, pos) - 1
        return self.src[i] + (pos - self.dst[i] if self.ident[i] else 0)

    def _end(self, pos: int) -> int:
        """Input offset just after output character `pos`."""
        i = bisect_right(self.dst, pos) - 1
        return self.src[i] + (pos - self.dst[i] + 1 if self.ident[i] else self.sn[i])

    def span(self, start: int, end: int) -> tuple[int, int]:
        s = self._start(start)
        return (s, s) if end <= start else (s, self._end(end - 1))


@dataclass(frozen=True)
class Normalized:
    """A normalized text and the way back to the original.

    Attributes:
        original: the caller's text, unchanged.
        text: the normalized text that detectors and the model see.
    """

    original: str
    text: str
    _maps: tuple[_OffsetMap, ...] = field(default=(), repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of `text` (end exclusive) to the span of `original` it came from.

        Offsets outside `text` are clamped. The result always lies inside `original`, start <= end,
        and the mapping is monotonic. A normalized character made from several original ones (a
        composed syllable, a dropped zero-width space) maps to all of them.

        Raises:
            InputError: start > end.
        """
        if start > end:
            raise InputError("span start is after its end")
        n = len(self.text)
        start, end = min(max(start, 0), n), min(max(end, 0), n)
        for m in reversed(self._maps):
            start, end = m.span(start, end)
        return start, end


def normalize(text: str) -> Normalized:
    """Normalize `text` for detection (see the module docstring); never raises on any str."""
    maps: list[_OffsetMap] = []
    cleaned, m1 = _clean_and_nfkc(text)
    if m1 is not None:
        maps.append(m1)
    cleaned = _tilde_identifiers(_hangul_numerals(cleaned))
    joined, m2 = _join_digits(cleaned)
    if m2 is not None:
        maps.append(m2)
    return Normalized(text, joined, tuple(maps))


# --- step 3b: "~" inside an identifier-length digit run -------------------------------------------------

_TILDE_RUN = re.compile(r"(?<![0-9])[0-9]+(?:~[0-9]+)+(?![0-9])")


def _tilde_identifiers(text: str) -> str:
    """"900101~1234568" and "010~1234~5678" become hyphenated, so the detectors read them; a range
    ("2020~2023", "10~20명") is shorter than any identifier and stays. Keeps the length (no offset map)."""
    if "~" not in text:
        return text
    return _TILDE_RUN.sub(lambda m: m.group().replace("~", "-")
                          if _MIN_JOIN <= sum(ch.isdigit() for ch in m.group()) <= _MAX_JOIN else m.group(), text)


# --- step 1-2: dropping, NFKC -------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _starts_segment(c: str) -> bool:
    """True when nothing before `c` can compose or reorder with it (a safe NFKC cut before `c`)."""
    if unicodedata.combining(c) or c in _COMPOSES_BACKWARD:
        return False
    d = unicodedata.normalize("NFKD", c)
    return bool(d) and not unicodedata.combining(d[0]) and d[0] not in _COMPOSES_BACKWARD


def _clean_and_nfkc(text: str) -> tuple[str, _OffsetMap | None]:
    """Steps 1-2. Returns the text and its map, or no map when nothing changed."""
    if _SIMPLE.fullmatch(text) or not text:
        return text, None
    out: list[str] = []
    omap = _OffsetMap(len(text))
    pos = 0
    for m in _SIMPLE.finditer(text):
        a, b = m.span()
        if a > pos:
            _complex(text, pos, a, out, omap)
        pos = _simple_run(text, a, b, out, omap)
    if pos < len(text):
        _complex(text, pos, len(text), out, omap)
    return "".join(out), omap


def _simple_run(text: str, a: int, b: int, out: list[str], omap: _OffsetMap) -> int:
    """Copy text[a:b] unchanged, except its last character when the next one may compose with it.

    That character then opens the complex region after it: a cut before a simple character is safe.
    """
    if b < len(text) and (dropped(text[b]) or not _starts_segment(text[b])):
        b -= 1  # leave it to the complex region: what follows may compose with it once dropped
    if b > a:
        out.append(text[a:b])
        omap.add(a, b - a, b - a, True)
    return b


def _complex(text: str, a: int, b: int, out: list[str], omap: _OffsetMap) -> None:
    """Drop, translate and NFKC text[a:b], which starts at a safe cut, one segment at a time."""
    region = text[a:b]
    if unicodedata.is_normalized("NFKC", region) and not any(
        dropped(c) or c in TO_NEWLINE or c in DASH_CHARS for c in region
    ):
        out.append(region)
        omap.add(a, b - a, b - a, True)
        return
    seg: list[str] = []
    seg_start = seg_end = a
    for i in range(a, b):
        c = text[i]
        if dropped(c) and c not in TO_NEWLINE:
            continue
        if c in TO_NEWLINE or _starts_segment(c) or not seg:
            _flush(seg, seg_start, seg_end, out, omap)
            seg, seg_start = [], i
            if c in TO_NEWLINE:
                if not (c == "\r" and i + 1 < len(text) and text[i + 1] == "\n"):
                    out.append("\n")
                    omap.add(i, 1, 1, True)
                seg_start = i + 1
                continue
        seg.append(c)
        seg_end = i + 1
    _flush(seg, seg_start, seg_end, out, omap)


def _flush(seg: list[str], start: int, end: int, out: list[str], omap: _OffsetMap) -> None:
    if not seg:
        return
    s = "".join(seg)
    n = unicodedata.normalize("NFKC", s).translate(DASH_TABLE)
    out.append(n)
    omap.add(start, end - start, len(n), len(s) == 1 and len(n) == 1)


# --- step 3: Hangul numerals --------------------------------------------------------------------------


def _hangul_numerals(text: str) -> str:
    """Turn Hangul numerals into digits inside digit-like runs; the length never changes.

    A run is a chain of groups (maximal stretches of numerals and digits) joined by `GROUP_SEP`. A group
    with a numeral in it takes part only with at least three numerals, or three characters with digits
    among them ("공일0", "63공92팔"), and when it does not continue a word ("번호공일공" does not start
    a run); a final "이" glued to more Hangul is read as the copula ("...오육칠팔이에요"). A run is
    converted when it holds at least four numerals and seven digits in all; numerals are never created
    by later steps, so normalizing twice gives the same text (a property test checks it).
    """
    if not _NUMERAL_ANCHOR.search(text):
        return text
    chars: list[str] | None = None
    for stretch in _NUMERAL_STRETCH.finditer(text):
        if _NUMERAL_ANCHOR.search(text, stretch.start(), stretch.end()):
            chars = _stretch_numerals(text, stretch.start(), stretch.end(), chars)
    return text if chars is None else "".join(chars)


def _stretch_numerals(text: str, lo: int, hi: int, chars: list[str] | None) -> list[str] | None:
    """Convert the qualifying runs of text[lo:hi]; `chars` is the text as a list once anything changed."""
    run: list[tuple[int, int]] = []
    prev_end = -1
    for m in _NUMERAL_GROUP.finditer(text, lo, hi):
        a, b = m.span()
        if not (run and a - prev_end <= MAX_GROUP_SEP and GROUP_SEP.fullmatch(text, prev_end, a)):
            chars = _convert_run(text, run, chars)
            run = []
        # Fast path: two characters or fewer starting with a numeral cannot hold three numerals.
        eligible, b_eff = (False, b) if b - a < 3 and text[a] in NUMERALS else _group(text, a, b)
        if eligible:
            run.append((a, b_eff))
        else:
            chars = _convert_run(text, run, chars)
            run = []
        prev_end = b
    return _convert_run(text, run, chars)


def _group(text: str, a: int, b: int) -> tuple[bool, int]:
    """Whether text[a:b] may join a run, and where it ends once a trailing copula is cut off."""
    if b < len(text) and text[b - 1] == "이" and b - a > 1 and _HANGUL.match(text, b):
        b -= 1
    numerals = sum(1 for c in text[a:b] if c in NUMERALS)
    if numerals == 0:
        return True, b
    glued = a > 0 and _HANGUL.match(text, a - 1) is not None
    mixed = numerals < b - a and b - a >= 3  # "63공92팔": numerals among digits are a number, not a word
    return (numerals >= 3 or mixed) and not glued, b


def _convert_run(text: str, run: list[tuple[int, int]], chars: list[str] | None) -> list[str] | None:
    if not run:
        return chars
    numerals = sum(1 for a, b in run for c in text[a:b] if c in NUMERALS)
    total = sum(b - a for a, b in run)
    if numerals < _MIN_NUMERALS or total < _MIN_RUN:
        return chars
    if chars is None:
        chars = list(text)
    for a, b in run:
        for i in range(a, b):
            chars[i] = NUMERALS.get(chars[i], chars[i])
    return chars


# --- step 4: spaced digits ----------------------------------------------------------------------------


def _join_digits(text: str) -> tuple[str, _OffsetMap | None]:
    """Drop the whitespace inside spaced digit runs of identifier length (see the module docstring)."""
    drops: list[int] = []
    for m in _DIGIT_REGION.finditer(text):
        region = m.group()
        if " " in region or "\n" in region or "\t" in region:
            _region_drops(region, m.start(), drops)
    if not drops:
        return text, None
    omap = _OffsetMap(len(text))
    out: list[str] = []
    pos = 0
    for i in drops:
        if i > pos:
            out.append(text[pos:i])
            omap.add(pos, i - pos, i - pos, True)
        pos = i + 1
    out.append(text[pos:])
    omap.add(pos, len(text) - pos, len(text) - pos, True)
    return "".join(out), omap


def _region_drops(region: str, base: int, drops: list[int]) -> None:
    """Collect offsets of whitespace to drop in each joinable sub-run of a digit region."""
    parts = _DIGIT_SPLIT.split(region)  # digits, sep, digits, sep, ... digits
    # A number already written with tight separators ("010-1234-5678") is complete: a bare space after
    # it starts another number ("... 12시"), which must not be glued on and hide the identifier.
    tight = any(not any(ch in _WS for ch in sep) for sep in parts[1::2])
    groups = [len(parts[0])]
    seps: list[int] = []  # offsets (in region) of the separators inside the current sub-run
    offset = len(parts[0])
    for k in range(1, len(parts), 2):
        sep, digits = parts[k], parts[k + 1]
        joins = not (tight and sep.strip() == "")
        if joins and len(sep) <= MAX_GROUP_SEP and GROUP_SEP.fullmatch(sep):
            seps.append(offset)
            groups.append(len(digits))
        else:
            _drop_run(region, base, seps, groups, drops)
            seps, groups = [], [len(digits)]
        offset += len(sep) + len(digits)
    _drop_run(region, base, seps, groups, drops)


def _drop_run(region: str, base: int, seps: list[int], groups: list[int], drops: list[int]) -> None:
    """Drop the whitespace of one sub-run if it looks like a spaced identifier.

    It needs 9-19 digits in groups that are all single digits ("9 0 0 1 0 1 - 1 ...") or all longer
    ("010 1234 5678"): mixed lengths are dates and counts ("2024. 3. 15. 10", "1 2 3 ... 9 10").
    """
    if not seps or not _MIN_JOIN <= sum(groups) <= _MAX_JOIN:
        return
    if min(groups) == 1 and max(groups) > 1:
        return
    for off in seps:
        i = off
        while i < len(region) and not region[i].isdigit():
            if region[i] in _WS:
                drops.append(base + i)
            i += 1
