"""PhoneDetector: 전화번호 (personal phone number), span type PHONE.

Formats: domestic numbers starting with 0 (010-1234-5678, 02-123-4567, 031 123 4567, (02) 1234-5678,
01012345678) and +82 forms (+82 10-1234-5678, +82(0)2-1234-5678). Each candidate is parsed and
validated by phonenumbers for region KR; only lines a person may own are reported: mobile, fixed
line, 070 VoIP and 050x personal (safe) numbers. Business numbers (15xx/16xx/18xx), free numbers
(080), premium lines and short codes (112, 119, 114) are not, and the pattern never reads them since
they do not start with 0 or +82. All-zero subscriber numbers (010-0000-0000) are placeholders. A fixed
line named by its office just before it ("구청 민원실 02-2148-1234", "문의처: 복지정책과 031-...", "노인복지과
02-2133-7540", "영업팀: 02-...") is the organisation's, not a person's (LABELLING.md, P3); a mobile always counts.
A match is VALID (phonenumbers validated the number plan).

Sources: phonenumbers (libphonenumber metadata for KR); 전기통신번호관리세칙.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from guard.detectors.base import Match, Validity
from guard.detectors.context import NOT_BEFORE, ContextWords
from guard.taxonomy import SpanType

__all__ = ["PhoneDetector"]

_SEP = r"[-. ]?"
_SHAPE = re.compile(
    r"(?<![0-9A-Za-z+])(?<![0-9][\-.])"
    r"(?:\+82[- ]?(?:\(0\)[- ]?)?[1-9][0-9]?|\(0[1-9][0-9]{0,2}\) ?|0[1-9][0-9]{0,2})"
    + _SEP + r"[0-9]{3,4}" + _SEP + r"[0-9]{4}" + NOT_BEFORE
)
_PERSONAL = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE,
                       PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.VOIP,
                       PhoneNumberType.PERSONAL_NUMBER})

SCORE = 0.9
#: Words that name an office right before its number (the window is short: "구청 다니는 제 번호" is
#: rarer than a notice, but a sentence further on must not vouch for the number).
_OFFICE_BEFORE = ContextWords.of(
    ("구청", "시청", "군청", "도청", "주민센터", "행정복지센터", "민원실", "보건소", "고객센터", "콜센터",
     "상담센터", "대표번호", "대표전화", "문의처", "행정실", "사무국", "교무실", "팩스", "FAX"),
    before=24, after=0)
#: An office named by its kind right before its number: a department (과, 팀, 국), a branch (점), a centre
#: or institution. One-syllable kinds need two syllables before them ("복지과", not "결과", "사과", "한국").
_OFFICE_NAME = re.compile(
    r"(?:[가-힣]{2,}(?:과|팀|국|처|점)|[가-힣]+(?:센터|본부|사무소|연구소|협회|공단|재단|학교|병원|의원|지점))"
    r"\s*(?:[:：]|전화|tel\.?|☎)?\s*$", re.IGNORECASE)


def _personal(candidate: str, office_named: bool) -> bool:
    try:
        number = phonenumbers.parse(candidate.replace("(0)", ""), "KR")
    except NumberParseException:
        return False
    if number.country_code != 82 or not phonenumbers.is_valid_number(number):
        return False
    if set(str(number.national_number)[-7:]) == {"0"}:
        return False  # 010-0000-0000 and the like are placeholders
    kind = phonenumbers.number_type(number)
    if office_named and kind is PhoneNumberType.FIXED_LINE:
        return False
    return kind in _PERSONAL


def _office_named(text: str, start: int, end: int) -> bool:
    return _OFFICE_BEFORE.near(text, start, end) or bool(_OFFICE_NAME.search(text, max(0, start - 24), start))


class PhoneDetector:
    """Korean personal phone numbers, validated by phonenumbers."""

    name = "phone"
    span_type = SpanType.PHONE

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for m in _SHAPE.finditer(text):
            if _personal(m.group(), _office_named(text, m.start(), m.end())):
                out.append(Match(m.start(), m.end(), self.span_type, SCORE, Validity.VALID, self.name))
        return out
