"""FrnDetector: 외국인등록번호 (foreigner registration number), span type FRN.

Format: YYMMDD-GNNNNNC like the RRN, with G in 5-8 (5-6 born 19xx, 7-8 born 20xx). The peers disagree
on the check digit: presidio computes (13 - S mod 11) mod 10, python-stdnum applies the RRN rule
(11 - S mod 11) mod 10 and lists foreigner numbers that pass only that one. We accept either as VALID.
A number that passes neither, with a real birth date, is UNVERIFIABLE at a lower score: since October
2020 registration numbers end in random digits (presidio keeps such matches too, at 0.5).
A bad date, or G outside 5-8, is not an FRN.

Sources: presidio `kr_frn_recognizer.py`; python-stdnum `stdnum/kr/rrn.py` (ARN note); 출입국관리법
시행규칙.
"""

from __future__ import annotations

from guard.detectors.base import Match, Validity
from guard.detectors.rrn import UNVERIFIABLE_SCORE, VALID_SCORE, rrn_candidates
from guard.taxonomy import SpanType

__all__ = ["FrnDetector", "frn_check_ok"]

_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def frn_check_ok(digits: str) -> bool:
    """True when the 13th digit fits the RRN rule or presidio's foreigner rule."""
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, digits[:12], strict=True))
    check = int(digits[12])
    return check in ((11 - total % 11) % 10, (13 - total % 11) % 10)


class FrnDetector:
    """Korean foreigner registration numbers (7th digit 5-8)."""

    name = "frn"
    span_type = SpanType.FRN

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for start, end, digits in rrn_candidates(text):
            if digits[6] not in "5678":
                continue
            if frn_check_ok(digits):
                out.append(Match(start, end, self.span_type, VALID_SCORE, Validity.VALID, self.name))
            else:
                out.append(Match(start, end, self.span_type, UNVERIFIABLE_SCORE, Validity.UNVERIFIABLE,
                                 self.name))
        return out
