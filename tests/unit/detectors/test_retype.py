"""checked_type: the identifier rules override the model's type for RRN/FRN and CARD spans."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.detectors.retype import checked_type
from guard.engine.fake import FakeEngine
from guard.sdk import Guard
from guard.taxonomy import SPAN_CATEGORY, SpanType


@pytest.mark.parametrize(("kind", "value", "expected"), [
    (SpanType.RRN, "900101-5234567", SpanType.FRN),      # 7th digit 5: a foreigner
    (SpanType.FRN, "900101-1234568", SpanType.RRN),
    (SpanType.RRN, "9001011234568", SpanType.RRN),
    (SpanType.RRN, "900101-123456", SpanType.RRN),       # not 13 digits: the rules say nothing
    (SpanType.CARD, "4111-1111-1111-1111", SpanType.CARD),  # passes Luhn
    (SpanType.CARD, "4111-1111-1111-1112", SpanType.ACCOUNT),
    (SpanType.CARD, "270-584721-45762", SpanType.ACCOUNT),
    (SpanType.PHONE, "010-1234-5678", SpanType.PHONE),   # types without a rule pass through
])
def test_checked_type(kind: SpanType, value: str, expected: SpanType) -> None:
    assert checked_type(kind, value) is expected


@given(st.sampled_from(list(SpanType)), st.text(max_size=40))
def test_the_category_family_never_changes(kind: SpanType, value: str) -> None:
    # Retyping fixes the kind of identifier, never moves a span between unrelated categories.
    assert SPAN_CATEGORY[checked_type(kind, value)] is SPAN_CATEGORY[kind]


def test_the_guard_reports_the_checked_type() -> None:
    engine = FakeEngine({"Send": "P2"}, spans={"270-584721-45762": SpanType.CARD})
    verdict = Guard(engine=engine).check("Send it to 270-584721-45762")  # no bank word: no detector match
    assert [(s.type, s.category, s.source) for s in verdict.spans] == [("ACCOUNT", "P2", "model")]
