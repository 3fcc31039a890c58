"""Masking operators (presidio-anonymizer's idea): detection stays apart from how spans are hidden.

- placeholder: the span becomes its Korean name in brackets, `[주민등록번호]`
- partial: the Korean convention, `900101-1******`, `010-****-5678`, `홍*동`, `ki***@naver.com`
- hash: `[RRN:3fa2b9c1d4e5]`, an HMAC-SHA256 of the value under a key that never lives in code,
  stable for one key so records can still be joined
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from enum import Enum

from guard.chars import digit_like
from guard.config import HMAC_KEY_ENV, HMAC_KEY_FILE_ENV
from guard.errors import ConfigError
from guard.taxonomy import SpanType
from guard.verdict import Span

_STAR = "*"
# (digits kept at the start, digits kept at the end) per span type, after the Korean convention.
_KEEP_DIGITS: dict[SpanType, tuple[int, int]] = {
    SpanType.RRN: (7, 0),
    SpanType.FRN: (7, 0),
    SpanType.PHONE: (3, 4),
    SpanType.CARD: (4, 4),
    SpanType.ACCOUNT: (3, 3),
    SpanType.DRIVER_LICENSE: (4, 0),
    SpanType.BIRTH_DATE: (0, 0),
    SpanType.CARD_EXPIRY: (0, 0),
    SpanType.CARD_CVC: (0, 0),
}


class MaskOperator(str, Enum):
    PLACEHOLDER = "placeholder"
    PARTIAL = "partial"
    HASH = "hash"


def mask_value(value: str, span_type: SpanType, operator: MaskOperator, key: bytes | None = None) -> str:
    """The replacement for one span's text."""
    if operator is MaskOperator.PLACEHOLDER:
        return f"[{span_type.name_ko}]"
    if operator is MaskOperator.HASH:
        if not key:
            raise ConfigError(f"hash masking needs a key: set {HMAC_KEY_FILE_ENV} or {HMAC_KEY_ENV}")
        digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"[{span_type.value}:{digest[:12]}]"
    return _partial(value, span_type)


def apply_masks(text: str, spans: Sequence[Span], operator: MaskOperator, key: bytes | None = None) -> str:
    """`text` with every span replaced; spans are original offsets, overlaps merged into the first."""
    out: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < cursor:
            continue
        out.append(text[cursor:span.start])
        out.append(mask_value(text[span.start:span.end], SpanType(span.type), operator, key))
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def _partial(value: str, span_type: SpanType) -> str:
    if span_type is SpanType.EMAIL:
        return _partial_email(value)
    if span_type is SpanType.PERSON:
        return _partial_name(value)
    if span_type is SpanType.ADDRESS:
        return _partial_address(value)
    if span_type in _KEEP_DIGITS:
        head, tail = _KEEP_DIGITS[span_type]
        return _mask_digits(value, head, tail)
    if span_type is SpanType.PASSPORT:
        return value[:1] + _STAR * (len(value) - 1)
    return _STAR * 8  # credentials: hide even the length


def _mask_digits(value: str, head: int, tail: int) -> str:
    # Digits as the detectors read them (guard.chars): anything NFKC makes a digit, and Hangul numerals.
    total = sum(digit_like(ch) for ch in value)
    seen = 0
    out = []
    for ch in value:
        if digit_like(ch):
            keep = seen < head or seen >= total - tail
            out.append(ch if keep else _STAR)
            seen += 1
        else:
            out.append(ch)
    return "".join(out)


def _partial_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at:
        return _STAR * len(value)
    keep = min(2, max(len(local) - 1, 0))
    return local[:keep] + _STAR * (len(local) - keep) + "@" + domain


def _partial_name(value: str) -> str:
    if len(value) <= 1:
        return _STAR
    if len(value) == 2:
        return value[0] + _STAR
    return value[0] + _STAR * (len(value) - 2) + value[-1]


def _partial_address(value: str) -> str:
    # keep the region (시/도 and 시/군/구), hide the street, building and unit
    words = value.split(" ")
    kept = " ".join(words[:2])
    rest = value[len(kept):]
    return kept + "".join(ch if ch == " " else _STAR for ch in rest)
