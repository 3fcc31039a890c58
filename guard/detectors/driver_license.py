"""DriverLicenseDetector: 운전면허번호 (driver's licence number), span type DRIVER_LICENSE.

Format: RR-YY-NNNNNN-CC, 12 digits: RR the issuing region (11 서울, 12 부산, 13 경기, 14 강원, 15 충북,
16 충남, 17 전북, 18 전남, 19 경북, 20 경남, 21 제주, 22 대구, 23 인천, 24 광주, 25 대전, 26 울산,
28 경기북부; 27 is not assigned), YY the year, NNNNNN a serial, CC a check and reissue digit. Licences
issued from 2011 to 2019 print the region as a name instead ("서울 09-123456-78"); both forms are read.
Separators are hyphens, single spaces or none, the same throughout.

The check digit rule is not public, so matches are UNVERIFIABLE; and twelve digits are a common shape,
so a context word ("운전면허", "면허번호", "driver's license" ...) must be nearby (presidio scores the
bare shape; we do not report it, see docs/detectors.md).

Sources: presidio `kr_driver_license_recognizer.py`; 도로교통법 시행규칙 별지 제55호서식.
"""

from __future__ import annotations

import re

from guard.detectors.base import Match, Validity
from guard.detectors.context import NOT_AFTER, NOT_BEFORE, ContextWords
from guard.taxonomy import SpanType

__all__ = ["DriverLicenseDetector"]

_REGION_CODE = r"(?:1[1-9]|2[0-68])"
_REGION_NAME = ("서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산|"
                "세종|경기남부|경기북부")
_NUMERIC = re.compile(NOT_AFTER + _REGION_CODE + r"([- ]?)[0-9]{2}\1[0-9]{6}\1[0-9]{2}" + NOT_BEFORE)
_NAMED = re.compile(r"(?:" + _REGION_NAME + r") ?" + NOT_AFTER + r"[0-9]{2}([- ]?)[0-9]{6}\1[0-9]{2}"
                    + NOT_BEFORE)

CONTEXT = ContextWords.of(
    ["운전면허", "운전면허증", "면허번호", "면허증", "운전 면허", "driver's license", "drivers license",
     "driver license", "driving licence", "driving license", "license", "licence", "운전면허번호"],
    before=40,
)

SCORE = 0.85


class DriverLicenseDetector:
    """Korean driver's licence numbers, only next to a licence context word."""

    name = "driver_license"
    span_type = SpanType.DRIVER_LICENSE

    def __init__(self, context: ContextWords = CONTEXT) -> None:
        self.context = context

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for regex in (_NUMERIC, _NAMED):
            for m in regex.finditer(text):
                if self.context.near(text, m.start(), m.end()):
                    out.append(Match(m.start(), m.end(), self.span_type, SCORE, Validity.UNVERIFIABLE,
                                     self.name))
        return out
