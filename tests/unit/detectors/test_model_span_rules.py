"""The identifier rules applied to the model's spans (guard.detectors.retype.rejected) and their effect
on the verdict: a number the validators rule out is not flagged on the model's word alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.kr import brn

from guard import Guard
from guard.detectors.retype import rejected
from guard.engine.fake import FakeEngine
from guard.taxonomy import SpanType


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (SpanType.RRN, "123-45-67890"),        # 사업자등록번호 shape with a valid check digit
        (SpanType.RRN, "991332-1234567"),      # no 13th month
        (SpanType.RRN, "900101-1******"),      # masked beyond two back digits
        (SpanType.RRN, "850101-9123456"),      # 1800s and a failed check digit
        (SpanType.PHONE, "080-123-4567"),      # toll-free
        (SpanType.PHONE, "1588-1234"),         # 대표번호
        (SpanType.PHONE, "060-700-1234"),      # premium rate
        (SpanType.CARD, "4242 4242 4242 4242"),
        (SpanType.CARD, "****-****-****-1234"),
        (SpanType.EMAIL, "privacy@example.co.kr"),
        (SpanType.EMAIL, "help@naver.com"),
    ],
)
def test_rejected(kind: SpanType, value: str) -> None:
    assert rejected(kind, value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (SpanType.RRN, "900101-1234568"),
        (SpanType.RRN, "020304-3123456"),      # post-2020 number: real date, check digit unknowable
        (SpanType.RRN, "900101-12345**"),      # two back digits masked: still P1
        (SpanType.PHONE, "010-1234-5678"),
        (SpanType.PHONE, "02-123-4567"),
        (SpanType.CARD, "4532 0151 1283 0366"),
        (SpanType.EMAIL, "minsu.kim@naver.com"),
        (SpanType.PERSON, "홍길동"),
    ],
)
def test_kept(kind: SpanType, value: str) -> None:
    assert not rejected(kind, value)


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_every_valid_business_number_is_rejected_as_rrn(n: int) -> None:
    valid = [f"{n:09d}{d}" for d in range(10) if brn.is_valid(f"{n:09d}{d}")]
    for number in valid:
        assert rejected(SpanType.RRN, f"{number[:3]}-{number[3:5]}-{number[5:]}")


def _guard(keyword: str, kind: SpanType) -> Guard:
    # the model says P1/P3 with high confidence and tags the number: only the rule can overrule it
    engine = FakeEngine(rules={keyword: kind.category.value}, spans={keyword: kind}, hit_score=0.99)
    return Guard(engine=engine)


@pytest.mark.parametrize(
    ("text", "keyword", "kind"),
    [
        ("저희 사업자등록번호는 123-45-67890 입니다", "123-45-67890", SpanType.RRN),
        ("고객센터 080-123-4567 로 연락주세요", "080-123-4567", SpanType.PHONE),
    ],
)
def test_the_rule_overrules_the_model(text: str, keyword: str, kind: SpanType) -> None:
    verdict = _guard(keyword, kind).check(text)
    assert verdict.safe
    assert verdict.scores[kind.category.value] == 0.0


def test_a_valid_number_beside_a_rejected_one_keeps_the_category() -> None:
    engine = FakeEngine(rules={"123-45-67890": "P1"}, spans={"123-45-67890": SpanType.RRN,
                                                            "900101-1234568": SpanType.RRN}, hit_score=0.99)
    verdict = Guard(engine=engine).check("사업자 123-45-67890, 대표 주민번호 900101-1234568")
    assert "P1" in verdict.categories
