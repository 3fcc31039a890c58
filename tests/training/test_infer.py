"""Decoding token tags back to character spans, as the evaluation does (no torch needed)."""

from __future__ import annotations

from guard.taxonomy import TAGS
from training.infer import decode_tags, trim

T = {t: i for i, t in enumerate(TAGS)}


def test_b_then_i_is_one_span() -> None:
    offsets = [(0, 1), (1, 4), (4, 8), (8, 10)]
    tags = [T["O"], T["B-PHONE"], T["I-PHONE"], T["O"]]
    assert decode_tags(tags, offsets) == [(1, 8, "PHONE")]


def test_a_digit_run_with_mixed_types_stays_one_span_of_the_majority_type() -> None:
    offsets = [(0, 3), (3, 10), (10, 14)]
    tags = [T["B-CARD"], T["I-ACCOUNT"], T["I-ACCOUNT"]]
    assert decode_tags(tags, offsets) == [(0, 14, "ACCOUNT")]


def test_a_new_b_starts_a_new_span() -> None:
    offsets = [(0, 3), (4, 7)]
    assert decode_tags([T["B-PERSON"], T["B-PERSON"]], offsets) == [(0, 3, "PERSON"), (4, 7, "PERSON")]


def test_an_i_without_b_opens_a_span() -> None:
    assert decode_tags([T["O"], T["I-EMAIL"]], [(0, 2), (2, 9)]) == [(2, 9, "EMAIL")]


def test_trim_drops_the_space_and_brackets_a_piece_carries() -> None:
    text = "연락처 (010-1234-5678) 김민수"
    assert trim(text, [(3, 19, "PHONE"), (19, 23, "PERSON")]) == [(5, 18, "PHONE"), (20, 23, "PERSON")]


def test_trim_keeps_punctuation_inside_a_password() -> None:
    text = "비번 hello!"
    assert trim(text, [(2, 9, "CREDENTIAL")]) == [(3, 9, "CREDENTIAL")]
