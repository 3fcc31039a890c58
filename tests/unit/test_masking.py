"""Masking operators: the Korean partial convention, placeholders and keyed hashes."""

from __future__ import annotations

import pytest

from guard.config import from_env, read_hmac_key
from guard.errors import ConfigError
from guard.masking import MaskOperator, apply_masks, mask_value
from guard.taxonomy import SpanType
from guard.verdict import Span


@pytest.mark.parametrize(
    ("value", "span_type", "expected"),
    [
        ("900101-1234568", SpanType.RRN, "900101-1******"),
        ("9001011234568", SpanType.RRN, "9001011******"),
        ("900101-5234561", SpanType.FRN, "900101-5******"),
        ("010-1234-5678", SpanType.PHONE, "010-****-5678"),
        ("01012345678", SpanType.PHONE, "010****5678"),
        ("공일공-일이삼사-오육칠팔", SpanType.PHONE, "공일공-****-오육칠팔"),
        ("4111-1111-1111-1111", SpanType.CARD, "4111-****-****-1111"),
        ("110-123-456789", SpanType.ACCOUNT, "110-***-***789"),
        ("11-22-123456-78", SpanType.DRIVER_LICENSE, "11-22-******-**"),
        ("M12345678", SpanType.PASSPORT, "M********"),
        ("홍길동", SpanType.PERSON, "홍*동"),
        ("남궁민수", SpanType.PERSON, "남**수"),
        ("김철", SpanType.PERSON, "김*"),
        ("kimcs@naver.com", SpanType.EMAIL, "ki***@naver.com"),
        ("a@b.kr", SpanType.EMAIL, "*@b.kr"),
        ("hunter2!", SpanType.CREDENTIAL, "********"),
        ("sk-abcdefghijklmnopqrstuvwxyz0123", SpanType.CREDENTIAL, "********"),
        ("서울특별시 강남구 테헤란로 123 4층", SpanType.ADDRESS, "서울특별시 강남구 **** *** **"),
        ("1990-01-01", SpanType.BIRTH_DATE, "****-**-**"),
    ],
)
def test_partial_follows_the_korean_convention(value: str, span_type: SpanType, expected: str) -> None:
    assert mask_value(value, span_type, MaskOperator.PARTIAL) == expected


def test_placeholder_names_the_type_in_korean() -> None:
    assert mask_value("900101-1234568", SpanType.RRN, MaskOperator.PLACEHOLDER) == "[주민등록번호]"
    assert mask_value("010-1234-5678", SpanType.PHONE, MaskOperator.PLACEHOLDER) == "[전화번호]"


def test_hash_is_stable_for_one_key_and_differs_across_keys() -> None:
    a = mask_value("900101-1234568", SpanType.RRN, MaskOperator.HASH, b"k" * 32)
    b = mask_value("900101-1234568", SpanType.RRN, MaskOperator.HASH, b"k" * 32)
    c = mask_value("900101-1234568", SpanType.RRN, MaskOperator.HASH, b"j" * 32)
    assert a == b != c
    assert a.startswith("[RRN:") and "900101" not in a


def test_hash_without_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="KGUARD_HMAC_KEY"):
        mask_value("x", SpanType.RRN, MaskOperator.HASH, None)


def test_hmac_key_from_env_and_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KGUARD_HMAC_KEY", "from-the-process-environment")
    assert from_env({}).hmac_key is None  # only the environment given is read
    assert from_env({"KGUARD_HMAC_KEY": "from-env-secret-value"}).hmac_key == b"from-env-secret-value"
    key_file = tmp_path / "key"
    key_file.write_bytes(b"0123456789abcdef0123\n")
    file_env = {"KGUARD_HMAC_KEY_FILE": str(key_file), "KGUARD_HMAC_KEY": "the-file-wins-over-this"}
    assert from_env(file_env).hmac_key == b"0123456789abcdef0123"
    assert "0123456789abcdef0123" not in repr(from_env(file_env))
    key_file.write_bytes(b"short")
    with pytest.raises(ConfigError, match="fewer than 16"):
        read_hmac_key(key_file)
    with pytest.raises(ConfigError, match="cannot read"):
        read_hmac_key(tmp_path / "missing")


def test_apply_masks_replaces_spans_and_keeps_the_rest() -> None:
    text = "주민번호 900101-1234568이고 전화는 010-1234-5678로"
    spans = [Span(5, 19, "RRN", "P1", 1.0, "detector"), Span(26, 39, "PHONE", "P3", 1.0, "detector")]
    assert apply_masks(text, spans, MaskOperator.PARTIAL) == "주민번호 900101-1******이고 전화는 010-****-5678로"


def test_apply_masks_skips_overlapping_spans() -> None:
    text = "abc 900101-1234568 def"
    spans = [Span(4, 18, "RRN", "P1", 1.0, "detector"), Span(6, 12, "PHONE", "P3", 0.5, "model")]
    assert apply_masks(text, spans, MaskOperator.PLACEHOLDER) == "abc [주민등록번호] def"


def test_partial_hides_every_digit_the_detectors_read() -> None:
    """Digits are what guard.chars says they are: mathematical or circled digits fold to digits, so the
    RRN detector finds the number and the partial mask must hide them too (a list of its own missed them)."""
    from guard.sdk import Guard

    text = "번호 𝟗𝟎𝟎𝟏𝟎𝟏-𝟏𝟐𝟑𝟒𝟓𝟔𝟖"
    assert mask_value("𝟗𝟎𝟎𝟏𝟎𝟏-𝟏𝟐𝟑𝟒𝟓𝟔𝟖", SpanType.RRN, MaskOperator.PARTIAL) == "𝟗𝟎𝟎𝟏𝟎𝟏-𝟏******"
    assert Guard.detectors_only().check(text).masked == "번호 𝟗𝟎𝟎𝟏𝟎𝟏-𝟏******"
