"""Conformance with python-stdnum's Korean doctests (data/stdnum_kr.jsonl, LGPL data).

Every valid RRN is reported (7th digit 5-8 as FRN, the rest as RRN) and VALID; every invalid one in the
suite (wrong length or format, impossible date, a failed check digit or place code on an 1800s
number) is not reported. Business registration numbers (KR_BRN), valid or not, are not personal
identifiers and no detector reports them (docs/detectors.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from guard.detectors.base import Validity
from guard.detectors.registry import DetectorRegistry
from guard.normalize import normalize

_DATA = Path(__file__).parent / "data"
REGISTRY = DetectorRegistry.default()


def _load(name: str) -> list[dict[str, Any]]:
    """KGUARD_CONFORMANCE_DIR when set, else the copy in data/ (a clean clone has no ../shared)."""
    base = Path(os.environ.get("KGUARD_CONFORMANCE_DIR") or _DATA)
    with (base / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = _load("stdnum_kr.jsonl")


def _rows(kind: str, valid: bool) -> list[Any]:
    return [pytest.param(r, id=r["text"]) for r in ROWS if r["number_type"] == kind and r["valid"] is valid]


def _found(text: str) -> list[tuple[str, int, int, Validity]]:
    n = normalize(text)
    return [(m.type.value, *n.to_original(m.start, m.end), m.validity) for m in REGISTRY.analyze(n.text)]


def test_data_present_and_whole() -> None:
    assert len(ROWS) == 275


@pytest.mark.parametrize("row", _rows("KR_RRN", True))
def test_valid_rrn(row: dict[str, Any]) -> None:
    kind = "FRN" if row["gender_digit"] in "5678" else "RRN"
    assert _found(row["text"]) == [(kind, 0, len(row["text"]), Validity.VALID)]


@pytest.mark.parametrize("row", _rows("KR_RRN", False))
def test_invalid_rrn(row: dict[str, Any]) -> None:
    assert _found(row["text"]) == []


@pytest.mark.parametrize("row", _rows("KR_BRN", True) + _rows("KR_BRN", False))
def test_business_numbers_are_never_reported(row: dict[str, Any]) -> None:
    assert _found(row["text"]) == []
