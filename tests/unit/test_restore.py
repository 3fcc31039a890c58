"""restore: reformatted placeholders, particles, unknown placeholders, and streamed answers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.pseudonymize import PseudonymStyle, pseudonymize_spans
from guard.restore import StreamRestorer, restore
from guard.vault import Vault
from guard.verdict import Span
from tests.fuzz.strategies import FUZZ

LIGHT = FUZZ

TEXT = "홍길동 고객님, 연락처 010-2345-6789, 메일 kim@naver.com, 주민번호 900101-1234568"
SPANS = [Span(TEXT.index(v), TEXT.index(v) + len(v), t, c, 0.9, "detector")
         for v, t, c in (("홍길동", "PERSON", "P5"), ("010-2345-6789", "PHONE", "P3"), ("kim@naver.com", "EMAIL", "P3"),
                         ("900101-1234568", "RRN", "P1"))]


def _session(style: PseudonymStyle = PseudonymStyle.PLACEHOLDER, seed: int = 1) -> tuple[Vault, str]:
    vault = Vault()
    out = pseudonymize_spans(TEXT, SPANS, vault, dict.fromkeys(("P1", "P3", "P5"), style), rng=random.Random(seed))
    return vault, out.text


@pytest.mark.parametrize(("answer", "expected"), [
    ("<이름_1>님 안녕하세요", "홍길동님 안녕하세요"),
    ("<이름_1>씨", "홍길동씨"),
    ("[이름_1]님", "홍길동님"),
    ("< 이름_1 >님", "홍길동님"),
    ("(이름 1)님", "홍길동님"),
    ("이름_1님", "홍길동님"),
    ("<NAME_1>", "홍길동"),
    ("<name_1>", "홍길동"),
    ("\\<PHONE\\_1\\>", "010-2345-6789"),
    ("**<PHONE_1>**", "**010-2345-6789**"),
    ("PHONE_1로 연락", "010-2345-6789로 연락"),
    ("<PHONE-1>으로 연락", "010-2345-6789로 연락"),
    ("<전화번호_1>", "010-2345-6789"),
    ("<이름_1>는 <이름_1>가 <이름_1>를 <이름_1>와", "홍길동은 홍길동이 홍길동을 홍길동과"),
    ("<이름_1>은(는) <이름_1>(이)가", "홍길동은 홍길동이"),
    ("<이름_1>이다", "홍길동이다"),
    ("<EMAIL_1>로", "kim@naver.com로"),
    ("MY_PHONE_1", "MY_PHONE_1"),
    ("이름 1개", "이름 1개"),
])
def test_reformatted_placeholders_are_restored(answer: str, expected: str) -> None:
    vault, _ = _session()
    assert restore(answer, vault).text == expected


def test_unknown_placeholders_are_left_and_counted() -> None:
    vault, _ = _session()
    out = restore("<이름_1>, <이름_7>, <PHONE_2>, <FOO_3>, <b>", vault)
    assert out.text == "홍길동, <이름_7>, <PHONE_2>, <FOO_3>, <b>"
    assert (out.restored, out.unknown) == (1, 3)


def test_respaced_fakes_are_restored() -> None:
    vault, sent = _session(PseudonymStyle.FAKE)
    fake_phone = next(e.pseudonym for e in vault.entries() if e.span_type.value == "PHONE")
    digits = fake_phone.replace("-", "")
    answer = f"{digits} 또는 {digits[:3]} {digits[3:7]} {digits[7:]}"
    assert restore(answer, vault).text == "010-2345-6789 또는 010-2345-6789"
    assert restore(sent, vault).text == TEXT


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


ANSWERS = st.lists(st.sampled_from([
    "<이름_1>님", "<이름_1>는 ", "[이름 1]", "PHONE_1", "<PHONE_1>으로 ", "<EMAIL_1>", "<RRN_1>", "<이름_9>",
    "안녕하세요 ",
    "이름", "PH", "<", ">", "_", "1", "2", " ", "\n", "이메일 ", "(", "주민", "010-", "\\<PHONE\\_1\\>",
]), max_size=20).map("".join)


@LIGHT
@given(ANSWERS, st.lists(st.integers(0, 400), max_size=12), st.sampled_from(list(PseudonymStyle)))
def test_a_streamed_answer_restores_like_the_whole(answer: str, cuts: list[int], style: PseudonymStyle) -> None:
    vault, sent = _session(style)
    if style is PseudonymStyle.FAKE:
        answer = answer + " " + sent  # the fakes too, split anywhere
    whole = restore(answer, vault)
    stream = StreamRestorer(vault)
    out = "".join(stream.feed(c) for c in _chunks(answer, cuts)) + stream.finish()
    assert out == whole.text
    assert (stream.restored, stream.unknown) == (whole.restored, whole.unknown)


def test_a_split_placeholder_is_held_back_until_whole() -> None:
    vault, _ = _session()
    stream = StreamRestorer(vault)
    assert stream.feed("고객 <이") == "고객 "
    assert stream.feed("름_") == ""
    assert stream.feed("1>님께 안내") == "홍길동님께 안내"
    assert stream.finish() == ""


def test_a_split_fake_is_held_back_until_whole() -> None:
    vault, _ = _session(PseudonymStyle.FAKE)
    fake_phone = next(e.pseudonym for e in vault.entries() if e.span_type.value == "PHONE")
    stream = StreamRestorer(vault)
    first = stream.feed("번호는 " + fake_phone[:6])
    assert first == "번호는 "
    rest = stream.feed(fake_phone[6:] + "입니다. 감사합니다") + stream.finish()
    assert first + rest == "번호는 010-2345-6789입니다. 감사합니다"
