"""RrnDetector: parametrized positives and hard negatives."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.rrn import RrnDetector

DETECTOR = RrnDetector()


def _found(text: str) -> list[tuple[str, Validity]]:
    return [(text[m.start:m.end], m.validity) for m in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "span", "validity"),
    [
        ("900101-1234568", "900101-1234568", Validity.VALID),
        ("제 주민번호는 900101-1234568이고", "900101-1234568", Validity.VALID),
        ("9601211021413", "9601211021413", Validity.VALID),
        ("050912-2000019로 등록", "050912-2000019", Validity.VALID),
        ("971013-9019902", "971013-9019902", Validity.VALID),           # born 1897, checksum passes
        ("991231-4019906", "991231-4019906", Validity.VALID),           # stdnum accepts future dates
        # post-2020 numbers: random last digits, real date and century digit
        ("960121-1234567", "960121-1234567", Validity.UNVERIFIABLE),
        ("000505-3637892입니다", "000505-3637892", Validity.UNVERIFIABLE),
        ("200229-4123456", "200229-4123456", Validity.UNVERIFIABLE),    # 2020 is a leap year
    ],
)
def test_finds(text: str, span: str, validity: Validity) -> None:
    assert _found(text) == [(span, validity)]


def test_scores_rank_valid_above_unverifiable() -> None:
    (valid,) = DETECTOR.find("900101-1234568")
    (unverifiable,) = DETECTOR.find("960121-1234567")
    assert valid.score > unverifiable.score >= 0.5
    assert valid.category.value == "P1"


@pytest.mark.parametrize(
    "text",
    [
        "001332-1234567",            # month 13
        "960230-1234567",            # 30 February
        "190229-1234567",            # 2019 is no leap year (gender 3/4 -> 20xx) ... 1919 neither
        "960121-5021413",            # foreigner digit: FRN, not RRN
        "760413-6212134",
        "971013-9019903",            # 1800s with a failed checksum
        "960303-0021413",
        "971013-9999904",            # 1800s, bad place code
        "960121+1021413",            # wrong separator
        "960111-10214131",           # too long
        "12345678900101123456789",   # inside a longer digit run
        "1900101-1234568",
        "900101-12345689",
        "12-900101-1234568",
        "900101-1234568-1",
        "A9001011234568",
        "YYMMDD-XXXXXXX",            # placeholder
        "900101-1******",            # already masked
        "주민등록번호는 13자리입니다",   # the format, explained
        "주문번호 2024031512345",       # order number
        "송장번호 6012345678901",        # tracking number
        "ISBN 9788912345678",
        "2024-03-15",
        "3,000원",
        "1588-1234",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
