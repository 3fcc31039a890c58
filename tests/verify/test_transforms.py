"""guard.verify.transforms: each keeps what carries the label (hypothesis properties), and the guard's
normalizer undoes the ones it is built to undo."""

from __future__ import annotations

import base64
import re
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.kr import rrn as stdnum_rrn

from guard.normalize import normalize
from guard.sdk import Guard
from guard.verify import transforms as tf
from guard.verify.dataset import Row

_ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_KO = st.text(st.sampled_from("가나다라마바사아자차카타파하주민번호계좌전화공황장애 -.0123456789abcXYZ"), max_size=40)
_PHONE = st.builds(lambda a, b: f"010-0{a:03d}-{b:04d}", st.integers(0, 999), st.integers(0, 9999))


def _rrn(date: str, gender: int, serial: int) -> str:
    body = f"{date}{gender}{serial:05d}"
    check = (11 - sum(int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True)) % 11) % 10
    return f"{body[:6]}-{body[6:]}{check}"


_VALID_RRN = st.builds(_rrn, st.dates(date(1930, 1, 1), date(1999, 12, 31)).map(lambda d: d.strftime("%y%m%d")),
                       st.sampled_from([1, 2]), st.integers(0, 95999))


@given(_ASCII)
def test_fullwidth_folds_back_under_nfkc(text: str) -> None:
    assert unicodedata.normalize("NFKC", tf.fullwidth(text)) == unicodedata.normalize("NFKC", text)


@given(_KO)
def test_zero_width_hides_nothing_the_normalizer_sees(text: str) -> None:
    out = tf.zero_width(text)
    assert re.sub("[\u200b\u200c\u200d\u2060]", "", out) == text
    assert normalize(out).text == normalize(text).text


@given(st.text(st.sampled_from("abcdeiopsxyzABCEHIKMOPTX0123456789 -@.가나"), max_size=40))
def test_homoglyphs_are_undone_one_to_one(text: str) -> None:
    assert len(set(tf._HOMOGLYPHS.values())) == len(tf._HOMOGLYPHS)
    assert tf.unhomoglyph(tf.homoglyphs(text)) == text


@given(_KO)
def test_spacing_only_adds_spaces(text: str) -> None:
    assert tf.spacing(text).replace(" ", "") == text.replace(" ", "")


@given(_KO)
def test_chosung_keeps_every_other_character_in_place(text: str) -> None:
    out = tf.chosung(text)
    assert len(out) == len(text)
    for a, b in zip(text, out, strict=True):
        assert a == b or (re.fullmatch("[가-힣]", a) and b in tf._CHOSUNG)


@given(_KO)
def test_number_words_keep_the_digits(text: str) -> None:
    words = {w: str(i) for i, w in enumerate(tf._DIGIT_WORDS)}
    out = tf.number_words(text)
    runs_in = "".join(ch for m in tf._DIGIT_RUN.finditer(text) for ch in m.group() if ch.isdigit())
    runs_out = "".join(words.get(w, "") for w in re.findall("[a-z]+", out))
    assert runs_in in runs_out  # letters of the text itself may spell digit words too


@given(_KO)
def test_base64_carries_the_whole_text(text: str) -> None:
    payload = tf.base64_wrapped(text).rsplit(" ", 1)[-1]
    assert base64.b64decode(payload).decode("utf-8") == text


@given(_KO.filter(lambda t: len(t) > 3))
def test_splits_lose_nothing(text: str) -> None:
    row = Row("r", text)
    turns = tf.TRANSFORMS["split_turns"](row)
    if turns is not None:
        assert "".join(turns.turns) == text
    stream = tf.TRANSFORMS["split_stream"](row)
    assert stream is not None and "".join(stream.chunks) == text


@given(_PHONE)
def test_normalizer_reads_hangul_numerals_back(phone: str) -> None:
    assert normalize(f"제 번호는 {tf.hangul_numerals(phone)}이에요").text == f"제 번호는 {phone}이에요"


@pytest.fixture(scope="module")
def detectors() -> Guard:
    return Guard.detectors_only()


@settings(max_examples=60, deadline=None)
@given(_VALID_RRN, st.sampled_from(["fullwidth", "zero_width", "spacing", "hangul_numerals"]))
def test_validated_rrn_still_flagged_after_the_transforms_the_normalizer_undoes(
        detectors: Guard, rrn: str, name: str) -> None:
    assert stdnum_rrn.is_valid(rrn.replace("-", ""))
    # the number ends the text: "...구이입니다" would read its last 이 as the copula (see the report of #16)
    variant = tf.TRANSFORMS[name](Row("r", f"제 주민번호: {rrn}"))
    assert variant is not None
    assert "P1" in detectors.check(variant.text).categories, name


def test_a_transform_that_changes_nothing_does_not_apply() -> None:
    row = Row("r", "공황장애 증상이 뭐예요?", translation="")
    names = {v.transform for v in tf.variants(row)}
    assert "hangul_numerals" not in names and "leetspeak" not in names and "translation" not in names
    assert {"none", "chosung", "zero_width", "split_stream"} <= names
    assert "roleplay" not in {v.transform for v in tf.variants(Row("a", "답변", role="assistant"))}
