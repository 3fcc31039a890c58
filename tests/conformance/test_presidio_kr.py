"""Conformance with presidio's Korean recognizer tests (data/presidio_kr.jsonl, MIT).

Where presidio and python-stdnum agree we must agree; where they disagree the decision is in
docs/detectors.md and tested here explicitly:
- RRN/FRN with a failed check digit but a real date: presidio 0.5, stdnum invalid -> UNVERIFIABLE.
- FRN check digit: presidio's rule or stdnum's -> VALID.
- 1800s RRN (7th digit 9/0) that passes stdnum: presidio negative -> we follow stdnum: VALID RRN.
- passport / driver licence: presidio scores the bare shape; we require a context word.
- business registration numbers (KR_BRN): not personal, not P1: never reported by any detector.
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
_TYPES = {"KR_RRN": "RRN", "KR_FRN": "FRN", "KR_PASSPORT": "PASSPORT", "KR_DRIVER_LICENSE": "DRIVER_LICENSE"}
_CONTEXT = {"KR_PASSPORT": "여권번호: ", "KR_DRIVER_LICENSE": "운전면허번호: "}
REGISTRY = DetectorRegistry.default()


def _load(name: str) -> list[dict[str, Any]]:
    """KGUARD_CONFORMANCE_DIR when set, else the copy in data/ (a clean clone has no ../shared)."""
    base = Path(os.environ.get("KGUARD_CONFORMANCE_DIR") or _DATA)
    with (base / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = _load("presidio_kr.jsonl")


def _rows(entity: str, *, positive: bool | None = None) -> list[Any]:
    return [pytest.param(r, id=r["text"] or "<empty>") for r in ROWS
            if r["expected_entity"] == entity and (positive is None or r["is_positive"] is positive)]


def _found(text: str, span_type: str | None = None) -> list[tuple[int, int, Validity]]:
    """Matches of one type (or all), as original offsets, run through normalize like the SDK."""
    n = normalize(text)
    return [(*n.to_original(m.start, m.end), m.validity) for m in REGISTRY.analyze(n.text)
            if span_type is None or m.type.value == span_type]


def _expected(row: dict[str, Any], shift: int = 0) -> list[tuple[int, int]]:
    spans = [s for s in row["spans"] if s["label"] == row["expected_entity"]]
    return [(s["start"] + shift, s["end"] + shift) for s in spans]


def test_data_present_and_whole() -> None:
    assert len(ROWS) == 90
    assert {r["expected_entity"] for r in ROWS} == {*_TYPES, "KR_BRN", "PERSON"}


@pytest.mark.parametrize("row", _rows("KR_RRN") + _rows("KR_FRN"))
def test_registration_numbers(row: dict[str, Any]) -> None:
    span_type = _TYPES[row["expected_entity"]]
    found = _found(row["text"], span_type)
    if not row["is_positive"]:
        if span_type == "RRN" and row["stdnum_kr_rrn_is_valid"]:
            return  # the peers disagree: test_1800s_rrn_follows_stdnum holds the decision
        assert found == []
        return
    assert [(s, e) for s, e, _ in found] == _expected(row)
    presidio_score = row["spans"][0]["presidio_score"][0]
    expected = Validity.VALID if presidio_score == 1.0 else Validity.UNVERIFIABLE
    assert [v for _, _, v in found] == [expected]


def test_1800s_rrn_follows_stdnum() -> None:
    # presidio lists 051102-9234110 as no RRN; stdnum validates it (born 1805): VALID for us.
    (row,) = [r for r in ROWS if r["expected_entity"] == "KR_RRN" and r["text"] == "051102-9234110"]
    assert row["is_positive"] is False and row["stdnum_kr_rrn_is_valid"] is True
    assert _found(row["text"], "RRN") == [(0, 14, Validity.VALID)]


_WEAK_POSITIVE = _rows("KR_PASSPORT", positive=True) + _rows("KR_DRIVER_LICENSE", positive=True)
_WEAK_NEGATIVE = _rows("KR_PASSPORT", positive=False) + _rows("KR_DRIVER_LICENSE", positive=False)


@pytest.mark.parametrize("row", _WEAK_POSITIVE)
def test_weak_shapes_need_context(row: dict[str, Any]) -> None:
    entity = row["expected_entity"]
    span_type, prefix = _TYPES[entity], _CONTEXT[entity]
    has_context = any(w in row["text"].lower() for w in ("여권", "passport", "license"))
    found = [(s, e) for s, e, _ in _found(row["text"], span_type)]
    assert found == (_expected(row) if has_context else [])
    # with a context word in front every presidio positive is found
    with_context = [(s, e) for s, e, v in _found(prefix + row["text"], span_type)
                    if v is Validity.UNVERIFIABLE]
    assert with_context == _expected(row, len(prefix))


@pytest.mark.parametrize("row", _WEAK_NEGATIVE)
def test_weak_shape_negatives_even_with_context(row: dict[str, Any]) -> None:
    prefix = _CONTEXT[row["expected_entity"]]
    assert _found(prefix + row["text"], _TYPES[row["expected_entity"]]) == []


@pytest.mark.parametrize("row", _rows("KR_BRN"))
def test_business_numbers_are_never_reported(row: dict[str, Any]) -> None:
    assert _found(row["text"]) == []


def test_person_row_phone_span() -> None:
    # The name is the model's job (P5); the phone number in the same sentence is ours.
    (row,) = _rows("PERSON")
    text = row.values[0]["text"]
    phone = [s for s in row.values[0]["spans"] if s["label"].startswith("PHONE")][0]
    assert [(s, e) for s, e, _ in _found(text, "PHONE")] == [(phone["start"], phone["end"])]
