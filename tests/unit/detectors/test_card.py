"""CardDetector: Luhn plus an issuer prefix of the right length."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.card import CardDetector, issuer_fits

DETECTOR = CardDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.VALID for m in found)
    return [text[m.start:m.end] for m in found]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("4532015112830366", "4532015112830366"),                      # Visa
        ("카드번호 4532-0151-1283-0366로 결제", "4532-0151-1283-0366"),
        ("5425 2334 3010 9903", "5425 2334 3010 9903"),                # Mastercard
        ("2223000048400011", "2223000048400011"),                      # Mastercard 2-series
        ("3787-344936-71000", "3787-344936-71000"),                    # Amex 4-6-5
        ("378734493671000", "378734493671000"),
        ("30569309025904", "30569309025904"),                          # Diners 14
        ("6011000990139424", "6011000990139424"),                      # Discover
        ("3530111333300000", "3530111333300000"),                      # JCB
        ("9410-1234-5678-9010", "9410-1234-5678-9010"),                # Korean domestic 9
        ("4222222222222", "4222222222222"),                            # Visa 13
    ],
)
def test_finds(text: str, span: str) -> None:
    assert _found(text) == [span]


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",               # Luhn fails
        "4111-1111-1111 1111",            # mixed separators
        "9788912345676",                  # ISBN-13 that passes Luhn
        "1234567812345670",               # no issuer 1
        "0000000000000000",
        "7111111111111114",               # no issuer 7
        "378734493671000123456",          # inside a longer run
        "41111111111111111111",           # 20 digits
        "3782822463100050",               # Amex prefix, wrong length
        "주문번호 2024031512345678",
        "XXXX-XXXX-XXXX-1234",
        "카드번호는 16자리",
        "테스트 카드 4242 4242 4242 4242",   # published test cards belong to nobody
        "4111-1111-1111-1111",
        "5555555555554444",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []


def test_issuer_lengths() -> None:
    assert issuer_fits("4" * 16) and not issuer_fits("4" * 15)
    assert issuer_fits("34" + "0" * 13) and not issuer_fits("34" + "0" * 14)
    assert not issuer_fits("9781234567890")
