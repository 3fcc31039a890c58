"""TextEncoder windows and pad_batch, on the tiny tokenizer (one word = one token)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from guard.engine.base import EngineInput
from guard.engine.tokenize import TextEncoder, pad_batch
from guard.errors import ModelError
from guard.taxonomy import Role
from tests.support.tinymodel import PLAIN_WORDS


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path) -> Tokenizer:
    return Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json"))


@pytest.fixture()
def encoder(tokenizer: Tokenizer) -> TextEncoder:
    return TextEncoder(tokenizer, max_length=32, stride=8, context_tokens=8)


def _words(n: int) -> str:
    return " ".join(PLAIN_WORDS[i % len(PLAIN_WORDS)] for i in range(n))


def test_short_text_is_one_window_with_the_layout(encoder: TextEncoder) -> None:
    (w,) = encoder.windows(EngineInput("hello world"))
    user = encoder.tokenizer.token_to_id("user")
    hello, world = (encoder.tokenizer.token_to_id(t) for t in ("hello", "world"))
    cls, sep = encoder.cls_id, encoder.sep_id
    assert w.input_ids == [cls, hello, world, sep, sep, user, sep]
    assert (w.first, w.token_start, w.offsets) == (1, 0, [(0, 5), (6, 11)])


def test_empty_text_is_one_window(encoder: TextEncoder) -> None:
    (w,) = encoder.windows(EngineInput(""))
    assert w.offsets == [] and w.input_ids[:3] == [encoder.cls_id, encoder.sep_id, encoder.sep_id]


@pytest.mark.parametrize("n_words", [23, 27, 28, 60, 200])
def test_windows_overlap_by_stride_and_cover_the_text(encoder: TextEncoder, n_words: int) -> None:
    text = _words(n_words)
    windows = encoder.windows(EngineInput(text))
    assert all(len(w.input_ids) <= encoder.max_length for w in windows)
    assert windows[0].token_start == 0
    assert windows[-1].token_start + len(windows[-1].offsets) == n_words
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.token_start + len(a.offsets) - b.token_start == encoder.stride
    covered = {w.token_start + j for w in windows for j in range(len(w.offsets))}
    assert covered == set(range(n_words))


def test_offsets_point_into_the_text(encoder: TextEncoder) -> None:
    text = "  " + _words(70).replace(" ", "   ") + " "
    words = text.split()
    for w in encoder.windows(EngineInput(text)):
        for j, (start, end) in enumerate(w.offsets):
            assert 0 <= start < end <= len(text)
            assert text[start:end] == words[w.token_start + j]
        ids = w.input_ids[w.first:w.first + len(w.offsets)]
        assert ids == [encoder.tokenizer.token_to_id(words[w.token_start + j]) for j in range(len(ids))]


def test_context_segment_is_truncated(encoder: TextEncoder) -> None:
    item = EngineInput("hello", Role.ASSISTANT, context=_words(100))
    segment = encoder.segment_b(item)
    assert len(segment) == encoder.context_tokens
    assert segment[0] == encoder.tokenizer.token_to_id("assistant:")
    (w,) = encoder.windows(item)
    assert len(w.input_ids) == 1 + 1 + 2 + encoder.context_tokens + 1


def test_user_role_has_only_the_marker(encoder: TextEncoder) -> None:
    assert encoder.segment_b(EngineInput("x", Role.USER)) == [encoder.tokenizer.token_to_id("user")]


def test_saved_truncation_does_not_cut_texts(tokenizer: Tokenizer) -> None:
    truncating = Tokenizer.from_str(tokenizer.to_str())
    truncating.enable_truncation(max_length=5)
    encoder = TextEncoder(truncating, max_length=32, stride=8, context_tokens=8)
    windows = encoder.windows(EngineInput(_words(60)))
    assert windows[-1].token_start + len(windows[-1].offsets) == 60
    assert truncating.truncation is not None  # the caller's tokenizer is left as it was


def test_pad_batch_pads_to_the_longest(encoder: TextEncoder) -> None:
    short = encoder.windows(EngineInput("hello"))[0]
    long = encoder.windows(EngineInput(_words(10)))[0]
    ids, mask = pad_batch([short, long], encoder.pad_id)
    assert ids.dtype == mask.dtype == np.int64
    assert ids.shape == mask.shape == (2, len(long.input_ids))
    assert mask[0].sum() == len(short.input_ids) and mask[1].all()
    assert (ids[0, len(short.input_ids):] == encoder.pad_id).all()


def test_tokenizer_without_specials_is_a_model_error() -> None:
    bare = Tokenizer(models.WordLevel(vocab={"a": 0, "<unk>": 1}, unk_token="<unk>"))
    bare.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    with pytest.raises(ModelError, match="tokenizer has no"):
        TextEncoder(bare)


def test_max_length_too_small_is_a_model_error(tokenizer: Tokenizer) -> None:
    with pytest.raises(ModelError, match="max_length"):
        TextEncoder(tokenizer, max_length=20, context_tokens=8)


def _sentences(lengths: list[int]) -> tuple[str, list[int]]:
    """Text of sentences of the given word counts (each ends with "."), and each sentence's first token;
    a word ending in 다 before a space ("좋다") ends a sentence too, as in Korean chat."""
    words: list[str] = []
    for n in lengths:
        sentence = [PLAIN_WORDS[(len(words) + i) % len(PLAIN_WORDS)] for i in range(n)]
        sentence[-1] += "."
        words += sentence
    starts = [0, *(i + 1 for i, w in enumerate(words[:-1]) if w.endswith((".", "다")))]
    return " ".join(words), starts


@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=12))
def test_sentence_windows_cover_every_token_and_cut_only_at_sentence_ends(tokenizer: Tokenizer,
                                                                         lengths: list[int]) -> None:
    window = 12
    encoder = TextEncoder(tokenizer, max_length=32, stride=4, context_tokens=8, sentence_window=window)
    text, starts = _sentences(lengths)
    n = sum(lengths)
    windows = encoder.windows(EngineInput(text))
    covered = set()
    for w in windows:
        covered.update(range(w.token_start, w.token_start + len(w.offsets)))
        if n > window:
            assert len(w.offsets) <= window  # no window dilutes a sentence with more than `window` tokens
    assert covered == set(range(n))
    if n > window:
        bounds = [*starts, n]
        long_sentence_tokens = {t for a, b in itertools.pairwise(bounds) if b - a > window for t in range(a, b)}
        for w in windows:
            assert w.token_start in starts or w.token_start in long_sentence_tokens


@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=3))
def test_a_text_within_the_sentence_window_is_one_window_as_before(tokenizer: Tokenizer,
                                                                   lengths: list[int]) -> None:
    text, _ = _sentences(lengths)
    plain = TextEncoder(tokenizer, max_length=32, stride=8, context_tokens=8)
    by_sentence = TextEncoder(tokenizer, max_length=32, stride=8, context_tokens=8, sentence_window=20)
    assert by_sentence.windows(EngineInput(text)) == plain.windows(EngineInput(text))


def test_a_korean_sentence_ending_without_punctuation_ends_a_window(tokenizer: Tokenizer) -> None:
    # chat rarely has a full stop: "좋다" before a space ends a sentence, so no window straddles two
    encoder = TextEncoder(tokenizer, max_length=32, stride=4, context_tokens=8, sentence_window=5)
    windows = encoder.windows(EngineInput(" ".join(["오늘 날씨 좋다"] * 4)))
    assert [(w.token_start, len(w.offsets)) for w in windows] == [(0, 3), (3, 3), (6, 3), (9, 3)]


@given(st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=6), st.integers(1, 12),
       st.sampled_from([Role.USER, Role.ASSISTANT]))
def test_sentence_units_split_a_window_at_sentence_ends_into_units_of_at_least_min_tokens(
        tokenizer: Tokenizer, lengths: list[int], min_tokens: int, role: Role) -> None:
    encoder = TextEncoder(tokenizer, max_length=64, stride=4, context_tokens=8)
    text, starts = _sentences(lengths)
    (window,) = encoder.windows(EngineInput(text, role, "hello world" if role is Role.ASSISTANT else None))
    units = encoder.sentence_units(text, window, min_tokens)
    n = len(window.offsets)
    if not units:  # one unit: the window itself
        assert not [s for s in starts if min_tokens <= s <= n - min_tokens]
        return
    assert [o for u in units for o in u.offsets] == window.offsets  # every token once, in order
    tail = window.input_ids[window.first + n:]
    for u in units:
        assert len(u.offsets) >= min_tokens and u.token_start in starts
        assert u.input_ids[:u.first] == window.input_ids[:window.first]
        assert u.input_ids[u.first + len(u.offsets):] == tail  # the same role and context segment
        ids = u.input_ids[u.first:u.first + len(u.offsets)]
        start = u.token_start - window.token_start + window.first
        assert ids == window.input_ids[start:start + len(ids)]


def test_a_closing_bracket_stays_with_the_sentence_before_it(tokenizer: Tokenizer) -> None:
    # "18일 ~ )은" was cut before ")": a name and a birth date became a sentence of their own
    encoder = TextEncoder(tokenizer, max_length=64, stride=4, context_tokens=8)
    text = "권지용 1988년 8월 18일 ~ )은 가수이다 오늘 날씨 좋다"
    (window,) = encoder.windows(EngineInput(text))
    units = encoder.sentence_units(text, window, 1)
    assert [text[u.offsets[0][0]:u.offsets[-1][1]].strip() for u in units] == [
        "권지용 1988년 8월 18일 ~ )은 가수이다", "오늘 날씨 좋다"]


@given(st.lists(st.sampled_from(["오늘", "좋다", "~", ")은", "」", "’", "”라고", "hello.", "world!", "ㅋㅋ"]),
                min_size=2, max_size=14))
def test_no_sentence_starts_with_a_closing_bracket(tokenizer: Tokenizer, words: list[str]) -> None:
    encoder = TextEncoder(tokenizer, max_length=64, stride=4, context_tokens=8)
    text = " ".join(words)
    (window,) = encoder.windows(EngineInput(text))
    for unit in encoder.sentence_units(text, window, 1)[1:]:
        assert text[unit.offsets[0][0]:unit.offsets[0][1]].lstrip()[:1] not in ")」’”"


def test_a_final_character_ends_a_sentence_only_at_the_end_of_a_longer_word(tokenizer: Tokenizer) -> None:
    # alone it is a word of its own: a range ("1988년 ~ 2020년"), the adverb "다", the demonstrative "요"
    encoder = TextEncoder(tokenizer, max_length=64, stride=4, context_tokens=8)
    for text, expect in (("김철수는 1988년 ~ 2020년 서울에 살았다 오늘 날씨 좋다",
                          ["김철수는 1988년 ~ 2020년 서울에 살았다", "오늘 날씨 좋다"]),
                         ("숙제 다 했어요 요 앞에 편의점 가자", ["숙제 다 했어요", "요 앞에 편의점 가자"]),
                         ("나 오늘 너무 피곤했어~ 근데 내일은 쉬어", ["나 오늘 너무 피곤했어~", "근데 내일은 쉬어"])):
        (window,) = encoder.windows(EngineInput(text))
        units = encoder.sentence_units(text, window, 1)
        assert [text[u.offsets[0][0]:u.offsets[-1][1]].strip() for u in units] == expect
