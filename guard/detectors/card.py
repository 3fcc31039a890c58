"""CardDetector: 카드번호 (payment card number), span type CARD.

Format: 13-19 digits, plain or in groups (4-4-4-4, 4-4-4-1..7, Amex 4-6-5, Diners 4-6-4) with the same
hyphen or space throughout. What is checked: the Luhn check digit (stdnum.luhn) and an issuer prefix
whose usual lengths fit (Visa 4: 13/16/19; Mastercard 51-55 and 2221-2720: 16; Amex 34/37: 15;
Diners 36/38/300-305: 14-16; Discover, UnionPay, Maestro, JCB 35: 16-19; Korean domestic cards
9: 16). A match is VALID. ISBN-13 (978/979) are never cards.

Sources: python-stdnum `stdnum/luhn.py`; ISO/IEC 7812; presidio `credit_card_recognizer.py`.
"""

from __future__ import annotations

import re

from stdnum import luhn as _luhn

from guard.detectors.base import Match, Validity
from guard.detectors.context import NOT_AFTER, NOT_BEFORE
from guard.detectors.nonpersonal import is_test_card
from guard.taxonomy import SpanType

__all__ = ["CardDetector", "issuer_fits"]

_SHAPE = re.compile(
    NOT_AFTER
    + r"(?:[0-9]{13,19}"
    + r"|[0-9]{4}([- ])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}"
    + r"|[0-9]{4}([- ])[0-9]{6}\2[0-9]{4,5})"
    + NOT_BEFORE
)

SCORE = 0.95


def issuer_fits(digits: str) -> bool:
    """True when the prefix belongs to a card network and the length is one it issues."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[:3] in ("978", "979") and n == 13:
        return False  # ISBN-13
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if two in (36, 38) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 16
    if two == 35 or 50 <= two <= 69:  # JCB, Maestro, Discover, UnionPay
        return 16 <= n <= 19
    if digits[0] == "9":
        return n == 16
    return False


class CardDetector:
    """Payment card numbers that pass Luhn and fit an issuer."""

    name = "card"
    span_type = SpanType.CARD

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for m in _SHAPE.finditer(text):
            digits = re.sub(r"[- ]", "", m.group())
            if (len(set(digits)) > 1 and issuer_fits(digits) and _luhn.is_valid(digits)
                    and not is_test_card(digits)):
                out.append(Match(m.start(), m.end(), self.span_type, SCORE, Validity.VALID, self.name))
        return out
