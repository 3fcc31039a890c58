"""RrnDetector: 주민등록번호 (resident registration number), span type RRN.

Format: YYMMDD-GNNNNNC, 13 digits, the hyphen optional. G gives the century (and sex): 1-2 born 19xx,
3-4 born 20xx, 9-0 born 18xx; 5-8 are foreigners (see frn.py). Until October 2020 NNNNN held the
place of birth and C a check digit ((11 - S mod 11) mod 10, weights 2-9, 2-5); numbers issued since
then end in random digits, so a failed check digit cannot reject a number.

What is checked, and the outcome:
- a real birth date for the century of G, else dropped; G in 5-8 is left to FrnDetector;
- stdnum.kr.rrn validation (check digit, place code <= 96) passes: VALID;
- it fails for G in 1-4: UNVERIFIABLE at a lower score (a post-2020 number), still a P1 identifier;
- it fails for G in 9/0: dropped (nobody born in the 1800s holds a post-2020 number).

Sources: python-stdnum `stdnum/kr/rrn.py`; presidio `kr_rrn_recognizer.py`; 주민등록법 시행규칙 별지
서식 (2020-10 개정: 지역번호 폐지).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum.exceptions import ValidationError
from stdnum.kr import rrn as _stdnum_rrn

from guard.detectors.base import Match, Validity
from guard.detectors.context import NOT_AFTER, NOT_BEFORE
from guard.taxonomy import SpanType

__all__ = ["RrnDetector", "rrn_candidates"]

_SHAPE = re.compile(NOT_AFTER + r"[0-9]{6}-?[0-9]{7}" + NOT_BEFORE)

#: Scores: a passed check digit, and a shape with a real date that cannot be checked.
VALID_SCORE = 1.0
UNVERIFIABLE_SCORE = 0.75


def rrn_candidates(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, 13 digits) for every RRN-shaped run whose birth date is real for its century.

    Shared with FrnDetector: foreigner numbers use the same date and century rules.
    """
    for m in _SHAPE.finditer(text):
        digits = m.group().replace("-", "")
        try:
            _stdnum_rrn.get_birth_date(digits)  # century from the 7th digit
        except ValidationError:
            continue
        yield m.start(), m.end(), digits


def stdnum_valid(digits: str) -> bool:
    """python-stdnum's full check: date, place code and check digit."""
    return bool(_stdnum_rrn.is_valid(digits))


class RrnDetector:
    """Korean resident registration numbers of citizens (7th digit 1-4, 9, 0)."""

    name = "rrn"
    span_type = SpanType.RRN

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for start, end, digits in rrn_candidates(text):
            gender = digits[6]
            if gender in "5678":
                continue
            if stdnum_valid(digits):
                out.append(Match(start, end, self.span_type, VALID_SCORE, Validity.VALID, self.name))
            elif gender in "1234":
                out.append(Match(start, end, self.span_type, UNVERIFIABLE_SCORE, Validity.UNVERIFIABLE,
                                 self.name))
        return out
