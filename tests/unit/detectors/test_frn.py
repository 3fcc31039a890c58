"""FrnDetector: both peers' check digit rules are VALID; other well-dated numbers UNVERIFIABLE."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.frn import FrnDetector, frn_check_ok

DETECTOR = FrnDetector()


def _found(text: str) -> list[tuple[str, Validity]]:
    return [(text[m.start:m.end], m.validity) for m in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "span", "validity"),
    [
        ("911124-5678906", "911124-5678906", Validity.VALID),        # presidio's rule (13 - S) % 11
        ("0509126000012", "0509126000012", Validity.VALID),          # presidio's rule
        ("931112-6271351", "931112-6271351", Validity.VALID),        # stdnum's (RRN) rule
        ("940624-5149547이에요", "940624-5149547", Validity.VALID),   # stdnum's rule
        ("911124-5678901", "911124-5678901", Validity.UNVERIFIABLE),  # neither: post-2020 tail
        ("외국인등록번호 000505-7637892", "000505-7637892", Validity.UNVERIFIABLE),
    ],
)
def test_finds(text: str, span: str, validity: Validity) -> None:
    assert _found(text) == [(span, validity)]


def test_either_rule_counts() -> None:
    assert frn_check_ok("9111245678906")      # presidio only
    assert frn_check_ok("9311126271351")      # stdnum only
    assert not frn_check_ok("9111245678901")


@pytest.mark.parametrize(
    "text",
    [
        "001332-5234567",      # bad date
        "960121-1021413",      # citizen: RRN
        "960303-0021413",
        "051102-9234110",
        "960111-56214131",     # too long
        "911124+5678906",
        "YYMMDD-5XXXXXX",
        "외국인등록번호는 13자리",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
