"""PassportDetector: 여권번호 (Korean passport number), span type PASSPORT.

Formats (presidio, 외교부): a type letter (M multiple, S single, R residence, O official, D diplomatic,
G government; either case) then eight digits (before December 2021: M12345678) or three digits, a
letter and four digits (the new passport: M123A4567). There is no public check digit, and the shape
alone matches countless product, seat and order codes, so a match needs a context word ("여권",
"passport" ...) nearby and is always UNVERIFIABLE.

Sources: presidio `kr_passport_recognizer.py`; Microsoft Purview "South Korea passport number".
"""

from __future__ import annotations

import re

from guard.detectors.base import Match, Validity
from guard.detectors.context import ContextWords
from guard.taxonomy import SpanType

__all__ = ["PassportDetector"]

_SHAPE = re.compile(r"(?<![0-9A-Za-z])[MSRODGmsrodg](?:[0-9]{8}|[0-9]{3}[A-Za-z][0-9]{4})(?![0-9A-Za-z])")

CONTEXT = ContextWords.of(
    ["여권", "여권번호", "passport", "passport no", "passport number", "旅券", "护照"], before=40
)

#: The new shape carries a letter in the middle, rarer in product codes than the old all-digit one.
NEW_SCORE = 0.8
OLD_SCORE = 0.7


class PassportDetector:
    """Korean passport numbers, only next to a passport context word."""

    name = "passport"
    span_type = SpanType.PASSPORT

    def __init__(self, context: ContextWords = CONTEXT) -> None:
        self.context = context

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for m in _SHAPE.finditer(text):
            if not self.context.near(text, m.start(), m.end()):
                continue
            score = OLD_SCORE if m.group()[1:].isdigit() else NEW_SCORE
            out.append(Match(m.start(), m.end(), self.span_type, score, Validity.UNVERIFIABLE, self.name))
        return out
