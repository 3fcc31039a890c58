"""The taxonomy is complete and parsing is strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.errors import InputError
from guard.taxonomy import (
    CATEGORIES,
    CATEGORY_CODES,
    DETECTOR_SPAN_TYPES,
    MODEL_SPAN_TYPES,
    SPAN_CATEGORY,
    TAGS,
    Category,
    Role,
    SpanType,
    parse_category,
    parse_role,
)


def test_fourteen_categories_in_order() -> None:
    assert CATEGORY_CODES == ("P1", "P2", "P3", "P4", "P5", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9")
    assert [c.value for c in Category] == list(CATEGORY_CODES)
    assert all(c.name_ko and c.name_en and c.pipa_basis and c.description for c in CATEGORIES)
    assert Category.S1.sensitive and not Category.P1.sensitive
    assert Category.P1.info.id == "unique_id"


def test_every_span_type_has_a_category_and_tags() -> None:
    assert set(SPAN_CATEGORY) == set(SpanType)
    assert SpanType.RRN.category is Category.P1 and SpanType.PHONE.category is Category.P3
    assert TAGS[0] == "O" and len(TAGS) == 1 + 2 * len(MODEL_SPAN_TYPES)
    assert all(t.name_ko for t in SpanType)


def test_the_model_tags_stay_those_of_the_shipped_model() -> None:
    """Span types only the detectors report (card expiry and code) add no model tag."""
    labels = json.loads((Path(__file__).resolve().parents[2] / "models" / "kguard-ko-small" / "labels.json")
                        .read_text(encoding="utf-8"))
    assert labels["tags"] == list(TAGS)
    assert set(MODEL_SPAN_TYPES) | DETECTOR_SPAN_TYPES == set(SpanType)
    assert all(t.category is Category.P2 for t in DETECTOR_SPAN_TYPES)


@pytest.mark.parametrize(("value", "code"), [("P1", "P1"), ("s1", "S1"), ("health", "S1"), (" SEX_LIFE ", "S2")])
def test_parse_category(value: str, code: str) -> None:
    assert parse_category(value).value == code


@pytest.mark.parametrize("value", ["P6", "S0", "", "privacy", "헬스"])
def test_unknown_category(value: str) -> None:
    with pytest.raises(InputError, match="unknown category"):
        parse_category(value)


def test_parse_role() -> None:
    assert parse_role("User") is Role.USER and parse_role("assistant") is Role.ASSISTANT
    for bad in ("system", "tool", ""):
        with pytest.raises(InputError, match="unknown role"):
            parse_role(bad)
