"""guard.engine.tags: BIO tags of text tokens back to character spans (the engine's decoding)."""

from __future__ import annotations

from collections.abc import Sequence

from guard.engine.tags import TaggedToken, decode_spans
from guard.taxonomy import TAGS, SpanType

T = {t: i for i, t in enumerate(TAGS)}
_TAG = tuple(None if t == "O" else (t.startswith("B-"), SpanType(t[2:])) for t in TAGS)


def _decode(text: str, tag_ids: Sequence[int], offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int, str]]:
    tokens = [TaggedToken(_TAG[t], a, b) for t, (a, b) in zip(tag_ids, offsets, strict=True)]
    return [(start, end, kind.value) for start, end, kind, _ in decode_spans(text, tokens)]


def test_b_then_i_is_one_span() -> None:
    text = "a 010-1234 b"
    assert _decode(text, [T["O"], T["B-PHONE"], T["I-PHONE"], T["O"]],
                       [(0, 1), (1, 5), (5, 10), (10, 12)]) == [(2, 10, "PHONE")]


def test_a_digit_run_with_mixed_types_stays_one_span_of_the_majority_type() -> None:
    text = "110-1234567-89"
    tags = [T["B-CARD"], T["I-ACCOUNT"], T["I-ACCOUNT"]]
    assert _decode(text, tags, [(0, 3), (3, 11), (11, 14)]) == [(0, 14, "ACCOUNT")]


def test_a_new_b_starts_a_new_span() -> None:
    assert _decode("김민수 이영희", [T["B-PERSON"], T["B-PERSON"]], [(0, 3), (3, 7)]) == [
        (0, 3, "PERSON"), (4, 7, "PERSON")]


def test_an_i_without_b_opens_a_span() -> None:
    assert _decode("메일 a@b.co.kr", [T["O"], T["I-EMAIL"]], [(0, 2), (2, 12)]) == [(3, 12, "EMAIL")]


def test_edges_drop_the_space_and_brackets_but_a_password_keeps_its_punctuation() -> None:
    text = "연락처 (010-1234-5678) 비번 hello!"
    tags = [T["B-PHONE"], T["B-CREDENTIAL"]]
    assert _decode(text, tags, [(3, 19), (22, 29)]) == [(5, 18, "PHONE"), (23, 29, "CREDENTIAL")]
