"""CardDetector: 카드번호 (payment card number), span type CARD.

Format: 13-19 digits, plain or in groups (4-4-4-4, 4-4-4-1..7, Amex 4-6-5, Diners 4-6-4) with the same
hyphen or space throughout. What is checked: the Luhn check digit (stdnum.luhn) and an issuer prefix
whose usual lengths fit (Visa 4: 13/16/19; Mastercard 51-55 and 2221-2720: 16; Amex 34/37: 15;
Diners 36/38/300-305: 14-16; Discover, UnionPay, Maestro, JCB 35: 16-19; Korean domestic cards
9: 16). A match is VALID. ISBN-13 (978/979) are never cards.

Next to a card number (40 characters before it, 60 after), its expiry date and security code are part
of the same card data (P2) and are reported too, as CARD_EXPIRY and CARD_CVC (UNVERIFIABLE, nothing
can be checked): after a word that names them ("유효기간 12/27", "exp 0127", "CVC: 123", "보안코드는
1234", "뒷면 번호 123"), or written right after the number without one ("4111-... / 12/27",
"4111-... 12/27 123": an MM/YY date, then 3-4 digits). Alone, without a valid card number near,
neither is reported: a bare "12/27" or "123" is too common.

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
DETAIL_SCORE = 0.9
_BEFORE, _AFTER = 40, 60  # characters around a card number searched for its expiry and code

# MM/YY, MM-YYYY, MM.YY, or "27년 12월" / "2027년 12월"
_EXPIRY = r"(?:(?:0[1-9]|1[0-2])\s?[/.\-]\s?(?:20)?[0-9]{2}|(?:20)?[0-9]{2}\s?년\s?(?:0?[1-9]|1[0-2])\s?월)"
_EXPIRY_WORD = (r"(?:유효\s?기간|만료\s?일?"
                r"|(?<![a-z])(?:exp(?:iry|iration|ires)?|valid\s?(?:thru|through|until))(?![a-z]))")
_CVC_WORD = r"(?:(?<![a-z])(?:cvc2?|cvv2?|cid|csc)(?![a-z])|보안\s?(?:코드|번호)|뒷면(?:\s?(?:번호|숫자))?)"
_GAP = r"[^0-9\n]{0,10}?"  # ": ", "는 ", " 번호 " between a word and its value
# After a word: the expiry (also MMYY, four digits) or the code.
_WORD_EXPIRY = re.compile(_EXPIRY_WORD + _GAP + NOT_AFTER + "(" + _EXPIRY + "|(?:0[1-9]|1[0-2])[0-9]{2})"
                          + NOT_BEFORE, re.IGNORECASE)
_WORD_CVC = re.compile(_CVC_WORD + _GAP + NOT_AFTER + "([0-9]{3,4})" + NOT_BEFORE, re.IGNORECASE)
# Right after the number (or after its expiry): only separators between them.
_EXPIRY_AT = re.compile(_EXPIRY + NOT_BEFORE)
_NEXT_EXPIRY = re.compile(r"[ \t,/|:]{0,6}(" + _EXPIRY + ")" + NOT_BEFORE)  # none: joined (_joined_card_end)
_NEXT_CVC = re.compile(r"[ \t,/|:]{1,6}" + NOT_AFTER + "([0-9]{3,4})" + NOT_BEFORE)


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


def _is_card(value: str) -> bool:
    digits = re.sub(r"[- ]", "", value)
    return (len(set(digits)) > 1 and issuer_fits(digits) and _luhn.is_valid(digits)
            and not is_test_card(digits))


def _joined_card_end(text: str, m: re.Match[str]) -> int | None:
    """Where the card ends when the normalizer joined its spaced expiry date onto it ("4111-1111-1111-1111
    12/27" becomes "4111-1111-1111-111112/27", "4111 1111 1111 1111 12/27" one digit run): the longest
    prefix that is a card and that an expiry date follows. None when there is none."""
    value = m.group()
    for i in range(len(value) - 1, 0, -1):
        prefix = value[:i]
        if (prefix[-1].isdigit() and 13 <= sum(ch.isdigit() for ch in prefix) <= 19 and _is_card(prefix)
                and _EXPIRY_AT.match(text, m.start() + i)):
            return m.start() + i
    return None


class CardDetector:
    """Payment card numbers that pass Luhn and fit an issuer."""

    name = "card"
    span_type = SpanType.CARD

    def find(self, text: str) -> list[Match]:
        cards: list[Match] = []
        for m in _SHAPE.finditer(text):
            end = m.end() if _is_card(m.group()) else _joined_card_end(text, m)
            if end is not None:
                cards.append(Match(m.start(), end, self.span_type, SCORE, Validity.VALID, self.name))
        details = {d for card in cards for d in self._details(text, card)}
        # a "detail" inside a card number is a piece of it, not its code
        details = {d for d in details if not any(c.start < d.end and d.start < c.end for c in cards)}
        return cards + sorted(details, key=lambda d: (d.start, d.end))

    def _details(self, text: str, card: Match) -> list[Match]:
        """The expiry date and security code written near `card`."""
        lo, hi = max(0, card.start - _BEFORE), min(len(text), card.end + _AFTER)
        found = [self._detail(m, SpanType.CARD_EXPIRY) for m in _WORD_EXPIRY.finditer(text, lo, hi)]
        found += [self._detail(m, SpanType.CARD_CVC) for m in _WORD_CVC.finditer(text, lo, hi)]
        expiry = _NEXT_EXPIRY.match(text, card.end)
        if expiry is not None:
            found.append(self._detail(expiry, SpanType.CARD_EXPIRY))
            code = _NEXT_CVC.match(text, expiry.end())
            if code is not None:
                found.append(self._detail(code, SpanType.CARD_CVC))
        return found

    def _detail(self, m: re.Match[str], kind: SpanType) -> Match:
        return Match(m.start(1), m.end(1), kind, DETAIL_SCORE, Validity.UNVERIFIABLE, self.name)
