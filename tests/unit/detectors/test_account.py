"""AccountDetector: account-shaped numbers count only next to a bank name or an account word."""

from __future__ import annotations

import pytest

from guard.detectors.account import AccountDetector
from guard.detectors.base import Validity

DETECTOR = AccountDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.UNVERIFIABLE for m in found)
    return [text[m.start:m.end] for m in found]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("국민은행 123456-78-901234로 입금해 주세요", "123456-78-901234"),
        ("신한 110-123-456789", "110-123-456789"),
        ("카카오뱅크 3333-01-1234567 예금주 홍길동", "3333-01-1234567"),
        ("토스뱅크 1000-1234-5678로 보내줘", "1000-1234-5678"),
        ("계좌번호: 1002123456789", "1002123456789"),
        ("농협 302-1234-5678-11", "302-1234-5678-11"),
        ("please wire to account 123-456789-01-234", "123-456789-01-234"),
        ("우체국 012345-02-123456", "012345-02-123456"),
    ],
)
def test_finds_with_context(text: str, span: str) -> None:
    assert _found(text) == [span]


@pytest.mark.parametrize(
    "text",
    [
        "123456-78-901234",                  # no context
        "주문번호 2024031512345",
        "송장번호 6012-3456-7890",
        "ISBN 978-89-123-4567-8",
        "입금일 2024-03-15",                  # a date, too short
        "계좌로 3,000원 송금",                 # a price
        "계좌번호는 12-14자리 숫자예요",
        "입금 계좌 XXX-XXXX-XXXX",
        "국민은행 1111-1111-1111",             # one repeated digit: a placeholder
        "송금 123456789012345678",            # too long
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
