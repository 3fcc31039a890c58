"""The pseudonymize operator and restore: round trip, consistency, and no original in what is sent."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.errors import ConfigError
from guard.fakes import digits_of
from guard.policy import Policy
from guard.pseudonymize import PseudonymStyle, consistency_key, pseudonymize_spans
from guard.restore import restore
from guard.taxonomy import SpanType
from guard.vault import Vault
from guard.verdict import Span
from tests.fuzz.strategies import FUZZ

LIGHT = FUZZ  # each example draws fakes through the validators: about 10 ms on an idle core

# Values as the detectors and the model report them, by type.
VALUES: dict[SpanType, tuple[str, ...]] = {
    SpanType.RRN: ("900101-1234568", "8506152345678", "030303-3123456"),
    SpanType.FRN: ("900101-5234561",),
    SpanType.PHONE: ("010-2345-6789", "01098765432", "010 5555 1234"),
    SpanType.CARD: ("4532-0151-1283-0366", "5105105105105106"),
    SpanType.ACCOUNT: ("110-123-456789", "3333-01-1234567"),
    SpanType.EMAIL: ("kim.minsu@naver.com", "Hong_GD@gmail.com"),
    SpanType.PASSPORT: ("M12345678", "M123A4567"),
    SpanType.DRIVER_LICENSE: ("11-12-123456-78",),
    SpanType.PERSON: ("홍길동", "김민수", "이영희", "박지", "남궁민수", "John Smith"),
    SpanType.ADDRESS: ("서울특별시 강남구 테헤란로 123", "부산 해운대구 우동 45-6"),
    SpanType.BIRTH_DATE: ("1990년 1월 1일", "1985.03.15"),
    SpanType.CREDENTIAL: ("hunter2!Pass", "sk-abcDEF1234567890"),
    SpanType.CARD_CVC: ("123",),
}
FILLER = ("안녕하세요", "고객님", "의 연락처는", "입니다.", "그리고", "문의드려요", ",", " ", "\n", "제 정보:",
          "확인 부탁해요!", "hello", "감사합니다", "(", ")", ":", "님께", "씨에게")
styles = st.sampled_from([PseudonymStyle.PLACEHOLDER, PseudonymStyle.FAKE])


@st.composite
def texts_with_spans(draw: st.DrawFn) -> tuple[str, list[Span]]:
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for _ in range(draw(st.integers(1, 8))):
        filler = " " + draw(st.sampled_from(FILLER)) + " "
        parts.append(filler)
        pos += len(filler)
        kind = draw(st.sampled_from(sorted(VALUES, key=lambda t: t.value)))
        value = draw(st.sampled_from(VALUES[kind]))
        spans.append(Span(pos, pos + len(value), kind.value, kind.category.value, 0.9, "detector"))
        parts.append(value)
        pos += len(value)
    parts.append(" " + draw(st.sampled_from(FILLER)))
    return "".join(parts), spans


@LIGHT
@given(texts_with_spans(), styles, st.integers(0, 2**32))
def test_restore_of_pseudonymize_is_the_identity(case: tuple[str, list[Span]], style: PseudonymStyle,
                                                 seed: int) -> None:
    text, spans = case
    vault = Vault()
    styled = dict.fromkeys(("P1", "P2", "P3", "P4", "P5"), style)
    out = pseudonymize_spans(text, spans, vault, styled, rng=random.Random(seed))
    assert out.replaced == len(spans)
    for span in spans:  # no original value reaches the text that is sent
        value = text[span.start:span.end]
        if len(value) >= 6:
            assert value not in out.text
        else:  # a three-digit code may turn up inside a longer fake number, never on its own
            assert re.search(f"(?<![0-9]){re.escape(value)}(?![0-9])", out.text) is None
        if len(digits_of(value)) >= 6:
            assert digits_of(value) not in digits_of(out.text)
    back = restore(out.text, vault)
    assert back.text == text and back.unknown == 0


@LIGHT
@given(texts_with_spans(), st.integers(0, 2**32))
def test_fakes_come_back_to_their_placeholders(case: tuple[str, list[Span]], seed: int) -> None:
    text, spans = case
    vault = Vault()
    fake = pseudonymize_spans(text, spans, vault, dict.fromkeys(("P1", "P2", "P3", "P4", "P5"), PseudonymStyle.FAKE),
                              rng=random.Random(seed))
    canonical = restore(fake.text, vault, to="placeholder")
    for entry in vault.entries():
        assert entry.pseudonym not in canonical.text or entry.style == "placeholder"
    assert restore(canonical.text, vault).text == text


def test_the_same_value_gets_the_same_pseudonym_in_a_session() -> None:
    text = "010-2345-6789 그리고 01023456789, 다시 010-2345-6789. 홍길동 홍길동"
    spans = [Span(0, 13, "PHONE", "P3", 0.9, "detector"), Span(18, 29, "PHONE", "P3", 0.9, "detector"),
             Span(34, 47, "PHONE", "P3", 0.9, "detector"), Span(49, 52, "PERSON", "P5", 0.9, "model"),
             Span(53, 56, "PERSON", "P5", 0.9, "model")]
    vault = Vault()
    out = pseudonymize_spans(text, spans, vault)
    assert out.text == "<PHONE_1> 그리고 <PHONE_1>, 다시 <PHONE_1>. <이름_1> <이름_1>"
    assert out.new_values == 2
    again = pseudonymize_spans("이번엔 홍길동", [Span(4, 7, "PERSON", "P5", 0.9, "model")], vault)
    assert again.text == "이번엔 <이름_1>" and again.new_values == 0


def test_a_placeholder_already_in_the_text_is_skipped() -> None:
    text = "<PHONE_1> 말고 010-2345-6789"
    vault = Vault()
    out = pseudonymize_spans(text, [Span(13, 26, "PHONE", "P3", 0.9, "detector")], vault)
    assert out.text == "<PHONE_1> 말고 <PHONE_2>"


def test_short_values_never_get_a_fake() -> None:
    vault = Vault()
    out = pseudonymize_spans("CVC 123", [Span(4, 7, "CARD_CVC", "P2", 0.9, "detector")], vault,
                             {"P2": PseudonymStyle.FAKE})
    assert out.text == "CVC <CVC_1>"


def test_consistency_keys() -> None:
    assert consistency_key(SpanType.PHONE, "010-2345-6789") == consistency_key(SpanType.PHONE, "010 2345 6789")
    assert consistency_key(SpanType.EMAIL, "Kim@Naver.com") == consistency_key(SpanType.EMAIL, "kim@naver.com")
    assert consistency_key(SpanType.PERSON, "홍 길동") != consistency_key(SpanType.PERSON, "홍길동")


def test_the_policy_chooses_the_style_per_category() -> None:
    policy = Policy.from_dict({"pseudonymize": {"P3": "fake", "profile": "Placeholder"}})
    assert policy.pseudonyms == {"P3": PseudonymStyle.FAKE, "P5": PseudonymStyle.PLACEHOLDER}
    assert Policy.default().pseudonyms == {}
    with pytest.raises(ConfigError, match="placeholder or fake"):
        Policy.from_dict({"pseudonymize": {"P3": "hash"}})
