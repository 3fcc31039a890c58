"""Character classes, written once: what the normalizer folds, what the detectors read inside an
identifier, and therefore what a stream must hold back (guard.stream) and partial masking must hide
(guard.masking). They import these instead of keeping their own lists, so they cannot drift apart.

`fold(c)` is the normalizer's view of one character: dropped (""), a line break, or NFKC with every dash
made "-". The classes below are defined on folded characters, so anything NFKC maps to a digit
(fullwidth, mathematical, circled digits) is a digit everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["DASH_CHARS", "DASH_TABLE", "FILLERS", "GROUP_SEP", "MAX_GROUP_SEP", "NUMERALS", "TO_NEWLINE",
           "VISIBLE_ASCII", "digit_like", "dropped", "fold", "identifier_like", "separator_prefix"]

#: Hyphens, dashes and the minus sign people (and word processors) put between digit groups; the
#: normalizer makes each of them "-".
DASH_CHARS = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63")
DASH_TABLE = str.maketrans(dict.fromkeys(DASH_CHARS, "-"))
#: Invisible Hangul fillers, used to split words; dropped like zero-width characters.
FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
#: Line separators the normalizer turns into "\n".
TO_NEWLINE = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
#: Hangul numerals (공일공 -> 010), read as digits inside digit-like runs.
NUMERALS = {"공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6",
            "칠": "7", "팔": "8", "구": "9"}
#: Between two digit groups of one identifier (normalized text): a space or two, or a dot/hyphen with a
#: little whitespace around it. The normalizer joins groups split this way; the detectors' own
#: separators ("-", ".", " ") are all of this form.
GROUP_SEP = re.compile(r"[ \t\n]{1,2}|[ \t\n]?[.\-][ \t\n]{0,2}")
MAX_GROUP_SEP = 4
#: Every character a detector puts inside a match (digits, Latin letters, "-.()+@_%", and the widest:
#: a password value, any visible ASCII character), as a regex range.
VISIBLE_ASCII = "!-~"
#: Range marks ("3~5"): never joined by the normalizer, but the model reads "900101~1234568" as one
#: number, so a stream treats them like a group separator.
_RANGE_MARKS = "~"
_VISIBLE = re.compile(f"[{VISIBLE_ASCII}]+")
# A prefix of a separator, ending in whitespace, as the stream sees it at the end of the text.
_SEP_PREFIX = re.compile(r"[ \t\n]{1,2}|[ \t\n]?[.\-" + _RANGE_MARKS + r"][ \t\n]{1,2}")


def dropped(c: str) -> bool:
    """True for characters that carry nothing and the normalizer removes (controls except tab and line
    break, format characters such as zero-width spaces and bidi marks, lone surrogates, fillers)."""
    if c in "\t\n":
        return False
    return unicodedata.category(c) in ("Cc", "Cf", "Cs") or c in FILLERS


@lru_cache(maxsize=4096)
def fold(c: str) -> str:
    """One character as the normalizer writes it: "" when dropped, "\\n" for a line separator, else
    NFKC with dashes made "-" (possibly several characters: "⑩" -> "10")."""
    if c in TO_NEWLINE:
        return "\n"
    if dropped(c):
        return ""
    return unicodedata.normalize("NFKC", c).translate(DASH_TABLE)


def digit_like(c: str) -> bool:
    """A character the normalizer reads as a digit: one whose fold is digits, or a Hangul numeral."""
    if c in NUMERALS:
        return True
    folded = fold(c)
    return bool(folded) and folded.isascii() and folded.isdigit()


def identifier_like(c: str) -> bool:
    """A character that may sit inside an identifier once folded (see VISIBLE_ASCII), or a numeral."""
    if c in NUMERALS:
        return True
    return _VISIBLE.fullmatch(fold(c)) is not None


def separator_prefix(folded: str) -> bool:
    """True when `folded` (the end of a text, folded, ending in whitespace) could be the start of a
    separator between digit groups; the caller checks that a digit comes before it."""
    return len(folded) <= MAX_GROUP_SEP and _SEP_PREFIX.fullmatch(folded) is not None
