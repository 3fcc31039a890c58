"""DriverLicenseDetector: region-coded licence numbers next to a licence word."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.driver_license import DriverLicenseDetector

DETECTOR = DriverLicenseDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.UNVERIFIABLE for m in found)
    return [text[m.start:m.end] for m in found]


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("운전면허 11-22-123456-12", ["11-22-123456-12"]),
        ("면허번호는 282212345612이에요", ["282212345612"]),
        ("My license is 13-22-123456-12", ["13-22-123456-12"]),
        ("driver's license 26 19 654321 01", ["26 19 654321 01"]),
        ("운전면허증 서울 09-123456-78", ["서울 09-123456-78"]),   # the region name is part of it
        ("경기북부 15-123456-01 (운전면허)", ["경기북부 15-123456-01"]),
    ],
)
def test_finds_with_context(text: str, spans: list[str]) -> None:
    assert _found(text) == spans


@pytest.mark.parametrize(
    "text",
    [
        "11-22-123456-12",            # no context
        "주문번호 11-22-123456-12",
        "운전면허 99-22-123456-12",    # no such region
        "운전면허 27-22-123456-12",    # 27 is not assigned
        "운전면허 10-22-123456-12",
        "운전면허 11-22-12345-12",
        "운전면허 11-22-123456-1",
        "운전면허 11-22-123A56-12",
        "운전면허 111-22-123456-12",
        "운전면허 11-22-123456-123",
        "운전면허 11-22 123456-12",    # mixed separators
        "운전면허번호는 12자리예요",
        "운전면허 NN-NN-NNNNNN-NN",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
