"""The identifier rules applied to the model's spans: the model reads digits as sub-word tokens, so it can
find the right piece of text and give it the wrong type (a foreigner number called RRN, a bank account
called CARD), or call a number personal that the validators know is not (a company registration
number, a toll-free line, a published test card, a role mailbox). Where a rule decides, the rule wins;
where and whether a span is found stays the model's call.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType
from stdnum import luhn as _luhn
from stdnum.exceptions import ValidationError
from stdnum.kr import brn as _brn
from stdnum.kr import rrn as _rrn

from guard.detectors.nonpersonal import is_role_mailbox, is_test_card
from guard.taxonomy import SpanType

__all__ = ["checked_type", "rejected"]

_DIGITS = frozenset("0123456789")
_BUSINESS_LINES = frozenset({PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE,
                             PhoneNumberType.SHARED_COST, PhoneNumberType.UAN, PhoneNumberType.PAGER})
_MIN_ACCOUNT_DIGITS = 8


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch in _DIGITS)


def checked_type(kind: SpanType, value: str) -> SpanType:
    """The span type the identifier rules give `value` (normalized text) that the model typed `kind`.

    RRN and FRN share one 13-digit shape: the 7th digit tells them apart (5-8: foreigner). A CARD that
    fails the Luhn check or has no card length is not a card; the model tags it for its financial
    context, so it is read as the other financial number, an ACCOUNT (same category, P2).
    """
    digits = _digits(value)
    if kind in (SpanType.RRN, SpanType.FRN) and len(digits) == 13:
        return SpanType.FRN if digits[6] in "5678" else SpanType.RRN
    if kind is SpanType.CARD and not (13 <= len(digits) <= 19 and _luhn.is_valid(digits)):
        return SpanType.ACCOUNT
    return kind


def rejected(kind: SpanType, value: str) -> bool:
    """Whether the validators rule out `value` as the personal identifier the model typed `kind`.

    Only what a rule can tell is rejected; anything the rules cannot judge (numbers in words the
    normalizer could not read, a post-2020 RRN with a real date) stays the model's call.
    """
    digits = _digits(value)
    if kind in (SpanType.RRN, SpanType.FRN):
        return _not_a_registration_number(digits)
    if kind is SpanType.PHONE:
        return _business_line(value, digits)
    if kind is SpanType.CARD:
        return is_test_card(digits) or (0 < len(digits) < 12 and "*" in value)
    if kind is SpanType.ACCOUNT:
        return is_test_card(digits) or (0 < len(digits) < _MIN_ACCOUNT_DIGITS and "*" in value)
    if kind is SpanType.EMAIL:
        return is_role_mailbox(value)
    return False


def _not_a_registration_number(digits: str) -> bool:
    if len(digits) == 10 and _brn.is_valid(digits):
        return True  # 사업자등록번호 (NNN-NN-NNNNN)
    if len(digits) < 11:
        return len(digits) > 0  # masked beyond two back digits: not an RRN any more (LABELLING.md, P1)
    if len(digits) != 13:
        return False
    try:
        _rrn.get_birth_date(digits)
    except ValidationError:
        return True  # no real birth date for its century: 법인등록번호 and other 13-digit numbers
    # born in the 1800s and failing the check digit: no such person holds a post-2020 number
    return digits[6] in "90" and not _rrn.is_valid(digits)


def _business_line(value: str, digits: str) -> bool:
    if len(digits) == 8 and digits[:2] in ("15", "16", "18"):
        return True  # 대표번호 (1588-xxxx and siblings)
    try:
        number = phonenumbers.parse(value, "KR")
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) in _BUSINESS_LINES
