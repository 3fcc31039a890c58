"""AccountDetector: 계좌번호 (Korean bank account number), span type ACCOUNT.

Format: 10-14 digits, usually in 2-5 hyphenated groups that differ by bank (국민 6-2-6, 신한 3-3-6,
우리 4-3-6, 하나 3-6-5, 농협 3-4-4-2, 기업 3-6-2-3, 카카오뱅크 4-2-7, 토스뱅크 4-4-4, SC제일 3-2-6 ...).
No bank publishes its check digit rule, and the shape is that of order, tracking and invoice numbers,
so a match needs a bank name or an account word (계좌, 입금, 송금, account ...) nearby and is always
UNVERIFIABLE. Runs that are phone numbers or dates lose to the phone detector in the registry.

Sources: 금융결제원 계좌번호 체계 (bank formats as printed on passbooks); presidio `kr_*` recognizers
(context idea).
"""

from __future__ import annotations

import re

from guard.detectors.base import Match, Validity
from guard.detectors.context import NOT_AFTER, NOT_BEFORE, ContextWords
from guard.taxonomy import SpanType

__all__ = ["AccountDetector"]

# Hyphenated groups (each 1-7 digits, the first 2-6) or a plain run; lengths are checked in code.
_SHAPE = re.compile(NOT_AFTER + r"(?:[0-9]{2,6}(?:-[0-9]{1,7}){1,4}|[0-9]{10,14})" + NOT_BEFORE)
_MIN_DIGITS, _MAX_DIGITS = 10, 14

BANKS = ("국민은행", "국민", "KB", "신한", "우리은행", "우리", "하나은행", "하나", "농협", "NH", "기업은행",
         "IBK", "카카오뱅크", "카뱅", "토스뱅크", "토스", "케이뱅크", "새마을금고", "우체국", "SC제일",
         "제일은행", "씨티", "수협", "신협", "부산은행", "대구은행", "iM뱅크", "경남은행", "광주은행",
         "전북은행", "제주은행", "산업은행", "KDB", "저축은행")
WORDS = ("계좌", "계좌번호", "입금", "송금", "이체", "예금주", "통장", "account", "acct", "bank",
         "은행", "무통장")
CONTEXT = ContextWords.of(BANKS + WORDS, before=32)

SCORE = 0.7


class AccountDetector:
    """Korean bank account numbers, only next to a bank name or an account word."""

    name = "account"
    span_type = SpanType.ACCOUNT

    def __init__(self, context: ContextWords = CONTEXT) -> None:
        self.context = context

    def find(self, text: str) -> list[Match]:
        out: list[Match] = []
        for m in _SHAPE.finditer(text):
            digits = m.group().replace("-", "")
            if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or len(set(digits)) == 1:
                continue
            if self.context.near(text, m.start(), m.end()):
                out.append(Match(m.start(), m.end(), self.span_type, SCORE, Validity.UNVERIFIABLE,
                                 self.name))
        return out
