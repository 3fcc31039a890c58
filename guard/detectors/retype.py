"""The identifier rules applied to the model's spans: the model reads digits as sub-word tokens, so it can
find the right piece of text and give it the wrong type (a foreigner number called RRN, a bank account
called CARD). Where a rule decides the type, the rule wins; where and whether a span is found stays
the model's call.
"""

from __future__ import annotations

from stdnum import luhn as _luhn

from guard.taxonomy import SpanType

__all__ = ["checked_type"]

_DIGITS = frozenset("0123456789")


def checked_type(kind: SpanType, value: str) -> SpanType:
    """The span type the identifier rules give `value` (normalized text) that the model typed `kind`.

    RRN and FRN share one 13-digit shape: the 7th digit tells them apart (5-8: foreigner). A CARD that
    fails the Luhn check or has no card length is not a card; the model tags it for its financial
    context, so it is read as the other financial number, an ACCOUNT (same category, P2).
    """
    digits = "".join(ch for ch in value if ch in _DIGITS)
    if kind in (SpanType.RRN, SpanType.FRN) and len(digits) == 13:
        return SpanType.FRN if digits[6] in "5678" else SpanType.RRN
    if kind is SpanType.CARD and not (13 <= len(digits) <= 19 and _luhn.is_valid(digits)):
        return SpanType.ACCOUNT
    return kind
