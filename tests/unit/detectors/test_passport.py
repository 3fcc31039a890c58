"""PassportDetector: passport shapes count only next to a context word."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.passport import PassportDetector

DETECTOR = PassportDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.UNVERIFIABLE for m in found)
    return [text[m.start:m.end] for m in found]


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("여권번호는 M12345678입니다", ["M12345678"]),
        ("여권번호: M123A4567", ["M123A4567"]),
        ("대한민국 여권 S87654321", ["S87654321"]),
        ("My passport number is m456B7890", ["m456B7890"]),
        ("Passport: D11223344, 여권 만료 2030", ["D11223344"]),
        ("여권 M123A4567 and M456B7890", ["M123A4567", "M456B7890"]),
        ("M12345678 is my PASSPORT", ["M12345678"]),
    ],
)
def test_finds_with_context(text: str, spans: list[str]) -> None:
    assert _found(text) == spans


@pytest.mark.parametrize(
    "text",
    [
        "M12345678",                      # no context: product or order code
        "주문번호 M123A4567",
        "모델명 S12345678 재고 있음",
        "여권 A123B4567",                  # wrong type letter
        "여권 M12A4567",
        "여권 M1234A567",
        "여권 M123AB567",
        "여권 M123A45678",
        "여권 M123456789",
        "여권 MM123A4567",
        "여권 M123 A4567",
        "여권 M123-A4567",
        "여권번호는 M으로 시작하는 9자리",
        "여권 MXXXXXXXX",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
