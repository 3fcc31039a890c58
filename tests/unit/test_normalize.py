"""guard.normalize: examples, offset map, hypothesis properties, pathological sizes (no timing asserts)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard import Guard
from guard.errors import InputError
from guard.normalize import Normalized, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Hangul numerals inside digit-like runs
        ("공일공-일이삼사-오육칠팔", "010-1234-5678"),
        ("공일공 일이삼사 오육칠팔로 연락", "01012345678로 연락"),
        ("번호는 공일공-일이삼사-오육칠팔이에요", "번호는 010-1234-5678이에요"),
        ("010-일이삼사-5678", "010-1234-5678"),
        ("구공공일공일-일이삼사오육팔", "900101-1234568"),
        # ordinary words made of numeral syllables stay words
        ("일이 있어", "일이 있어"),
        ("오늘 오후에 오이 구이", "오늘 오후에 오이 구이"),
        ("공사 일정이 삼일 이상 걸려요", "공사 일정이 삼일 이상 걸려요"),
        ("사이사이 이사 구구단", "사이사이 이사 구구단"),
        ("일이삼 사오", "일이삼 사오"),
        # spaced or split digits
        ("9 0 0 1 0 1 - 1 2 3 4 5 6 8", "900101-1234568"),
        ("010. 1234. 5678", "010.1234.5678"),
        ("010 1234 5678", "01012345678"),
        ("010\n1234\n5678", "01012345678"),
        ("900101 - 1234568이고", "900101-1234568이고"),
        # ordinary numbers are not touched
        ("3,000원", "3,000원"),
        ("2024. 3. 1.", "2024. 3. 1."),
        ("2024. 3. 15. 10시", "2024. 3. 15. 10시"),
        ("1.2.3", "1.2.3"),
        ("1 2 3 4 5 6 7 8 9 10", "1 2 3 4 5 6 7 8 9 10"),
        ("010-1234-5678 010-9876-5432", "010-1234-5678 010-9876-5432"),
        # NFKC, invisible characters, dashes, controls
        ("０１０－１２３４－５６７８", "010-1234-5678"),
        ("010\u20131234\u20145678", "010-1234-5678"),
        ("9001\u200b01-123\u200d4568", "900101-1234568"),
        ("a\u3164b", "ab"),
        ("줄\r\n바꿈\r끝", "줄\n바꿈\n끝"),
        ("탭\t유지\x00\x07", "탭\t유지"),
        ("e\u0301", "\u00e9"),
        ("ㄱㅏ", "가"),
        ("①②③", "123"),
        ("x\ud800y", "xy"),
        ("", ""),
    ],
)
def test_normalize_examples(text: str, expected: str) -> None:
    assert normalize(text).text == expected


def test_offsets_of_spaced_digits_point_into_original() -> None:
    text = "번호 9 0 0 1 0 1 - 1 2 3 4 5 6 8 입니다"
    n = normalize(text)
    start = n.text.index("900101")
    s, e = n.to_original(start, start + len("900101-1234568"))
    assert text[s:e] == "9 0 0 1 0 1 - 1 2 3 4 5 6 8"


def test_offsets_across_dropped_and_composed_characters() -> None:
    text = "A\u200bB e\u0301 ０１"
    n = normalize(text)
    assert n.text == "AB \u00e9 01"
    assert n.to_original(0, 2) == (0, 3)           # the zero-width space sits inside the span
    assert n.to_original(3, 4) == (4, 6)           # é came from two characters
    assert text[slice(*n.to_original(5, 7))] == "０１"


def test_to_original_clamps_and_rejects_inverted_spans() -> None:
    n = normalize("abc\u200b")
    assert n.to_original(-5, 99) == (0, 3)
    assert n.to_original(3, 3) == (4, 4)
    with pytest.raises(InputError):
        n.to_original(2, 1)


def test_normalized_is_frozen_and_compares_by_text() -> None:
    n = normalize("가나")
    assert isinstance(n, Normalized)
    assert n == normalize("가나")
    with pytest.raises(AttributeError):
        n.text = "x"  # type: ignore[misc]


_KOREAN_DIGITS = st.text(alphabet="공영일이삼사오육칠팔구0123456789 -.\n가는에요", max_size=60)
_ANY = st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=80)
_MIXED = st.one_of(_ANY, _KOREAN_DIGITS,
                   st.text(alphabet="0123456789 .-\n\t\u200b\u3000０１e\u0301\u1161\u11a8가ｶﾞ", max_size=60))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_MIXED)
def test_idempotent(text: str) -> None:
    once = normalize(text).text
    assert normalize(once).text == once


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_MIXED, st.data())
def test_offsets_inside_and_monotonic(text: str, data: st.DataObject) -> None:
    n = normalize(text)
    size = len(n.text)
    a = data.draw(st.integers(0, size))
    b = data.draw(st.integers(a, size))
    s, e = n.to_original(a, b)
    assert 0 <= s <= e <= len(text)
    if a == b:
        assert s == e
        return
    # monotonic: moving the start right never moves the mapped start left, and the end likewise
    s2, e2 = n.to_original(b - 1, b)
    assert s <= s2 and e2 == e
    s3, e3 = n.to_original(a, size)
    assert s3 == s and e3 >= e
    full = n.to_original(0, size)
    assert full[0] <= s and e <= full[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 0x10FFFF), max_size=60))
def test_any_code_points_never_raise(points: list[int]) -> None:
    text = "".join(chr(p) for p in points)  # lone surrogates included
    n = normalize(text)
    n.to_original(0, len(n.text))
    n.text.encode("utf-8")  # nothing unencodable survives


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "-" * 100_000,
        "1-" * 50_000,
        "1 " * 50_000,
        "공" * 100_000,
        "공 " * 50_000,
        "e" + "\u0301" * 50_000,
        "가\u200b" * 50_000,
    ],
)
def test_pathological_inputs_complete(text: str) -> None:
    n = normalize(text)
    n.to_original(0, len(n.text))


def test_one_megabyte_of_mixed_text() -> None:
    unit = ("제 번호는 010-1234-5678이고 메일은 kim@naver.com입니다. "
            "가격은 3,000원, 2024. 3. 1. ＡＢＣ\u200b\n")
    text = unit * (1_000_000 // len(unit))
    n = normalize(text)
    assert n.text.count("010-1234-5678") == text.count("010-1234-5678")
    assert n.to_original(len(n.text) - 1, len(n.text))[1] == len(text)


@pytest.mark.parametrize(
    ("text", "identifier"),
    [
        ("연락처 010-1234-5678 12시 이후에", "010-1234-5678"),
        ("주민번호 900101-1234568 12월생", "900101-1234568"),
        ("계좌 110-123-456789 3만원", "110-123-456789"),
    ],
)
def test_a_number_after_a_complete_identifier_is_not_glued_on(text: str, identifier: str) -> None:
    assert identifier in normalize(text).text
    verdict = Guard.detectors_only().check(text)
    assert identifier not in (verdict.masked or text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("제 번호는 900101~1234568 입니다.", "제 번호는 900101-1234568 입니다."),
        ("010~1234~5678로 연락", "010-1234-5678로 연락"),
        ("2020~2023년, 10~20명", "2020~2023년, 10~20명"),  # ranges are too short to be identifiers
    ],
)
def test_tilde_inside_an_identifier_becomes_a_hyphen(text: str, expected: str) -> None:
    assert normalize(text).text == expected
    assert len(normalize(text).text) == len(text)


def test_a_tilde_separated_rrn_is_masked() -> None:
    verdict = Guard.detectors_only().check("제 번호는 900101~1234568 입니다.")
    assert verdict.masked == "제 번호는 900101~1****** 입니다."
