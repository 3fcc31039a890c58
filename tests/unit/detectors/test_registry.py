"""DetectorRegistry: all detectors, overlaps resolved, particles, pathological inputs."""

from __future__ import annotations

import pytest

from guard.detectors.base import Match, Validity
from guard.detectors.registry import DetectorRegistry, resolve_overlaps
from guard.normalize import normalize
from guard.taxonomy import SpanType

REGISTRY = DetectorRegistry.default()


def _analyze(text: str) -> list[tuple[str, str]]:
    """(type, original substring) of every match, run through normalize like the SDK does."""
    n = normalize(text)
    out = []
    for m in REGISTRY.analyze(n.text):
        start, end = n.to_original(m.start, m.end)
        out.append((m.type.value, text[start:end]))
    return out


def test_default_has_every_detector() -> None:
    assert sorted(REGISTRY.names) == sorted(
        ["rrn", "frn", "passport", "driver_license", "card", "account", "phone", "email", "secret"])
    assert {d.span_type for d in REGISTRY.detectors} >= {SpanType.RRN, SpanType.CARD, SpanType.CREDENTIAL}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("제 주민번호는 900101-1234568이에요", [("RRN", "900101-1234568")]),
        ("010-1234-5678로 연락 주세요", [("PHONE", "010-1234-5678")]),
        ("kim@naver.com으로 보내", [("EMAIL", "kim@naver.com")]),
        ("공일공-일이삼사-오육칠팔로 전화해", [("PHONE", "공일공-일이삼사-오육칠팔")]),
        ("주민번호 9 0 0 1 0 1 - 1 2 3 4 5 6 8", [("RRN", "9 0 0 1 0 1 - 1 2 3 4 5 6 8")]),
        ("ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ", [("EMAIL", "ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ")]),
        ("번호 010\u200b-1234-5678", [("PHONE", "010\u200b-1234-5678")]),
        # a card number that passes Luhn beats the account shape next to 계좌 / the bank word
        ("카드 4532-0151-1283-0366 계좌", [("CARD", "4532-0151-1283-0366")]),
        # a phone number is VALID, the account reading of the same digits is not
        ("입금 확인은 010-1234-5678로", [("PHONE", "010-1234-5678")]),
        ("연락처 010-1234-5678, 메일 a.b@daum.net, 비번 qwer1234",
         [("PHONE", "010-1234-5678"), ("EMAIL", "a.b@daum.net"), ("CREDENTIAL", "qwer1234")]),
    ],
)
def test_analyze(text: str, expected: list[tuple[str, str]]) -> None:
    assert _analyze(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "주민등록번호는 13자리예요", "YYMMDD-XXXXXXX", "010-XXXX-XXXX", "고객센터 1588-1234",
        "주문번호 2024031512345", "송장번호 6012345678901", "ISBN 978-89-123-4567-8", "2024. 3. 1.",
        "가격은 3,000원", "버전 1.2.3", "상품코드 M12345678", "비밀번호를 잊어버렸어요",
        "공사 일정이 삼일 이상",
        "사업자등록번호 104-86-56659", "1048656659",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _analyze(text) == []


def _m(start: int, end: int, validity: Validity, score: float, kind: SpanType = SpanType.ACCOUNT) -> Match:
    return Match(start, end, kind, score, validity, "t")


def test_resolve_prefers_valid_then_longer_then_score() -> None:
    valid = _m(0, 10, Validity.VALID, 0.5, SpanType.PHONE)
    longer = _m(0, 14, Validity.UNVERIFIABLE, 0.9)
    assert resolve_overlaps([longer, valid]) == [valid]
    short = _m(5, 8, Validity.UNVERIFIABLE, 0.99)
    assert resolve_overlaps([short, longer]) == [longer]
    low = _m(20, 25, Validity.UNVERIFIABLE, 0.5)
    high = _m(20, 25, Validity.UNVERIFIABLE, 0.7, SpanType.CREDENTIAL)
    assert resolve_overlaps([low, high, valid]) == [valid, high]
    assert resolve_overlaps([_m(3, 3, Validity.VALID, 1.0)]) == []
    assert resolve_overlaps([_m(5, 9, Validity.VALID, 1.0), _m(0, 5, Validity.VALID, 1.0)]) == [
        _m(0, 5, Validity.VALID, 1.0), _m(5, 9, Validity.VALID, 1.0)]


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "-" * 100_000,
        "1-" * 50_000,
        "1 " * 50_000,
        "1." * 50_000,
        "a" * 100_000 + "@",
        "a@" + "a." * 50_000,
        "a." * 50_000 + "@b",
        "비밀번호 " * 20_000,
        "password:" + "x" * 100_000,
        "-----BEGIN PRIVATE KEY-----" * 3_000,
        "eyJ" + "a" * 100_000,
        "여권 M" + "1" * 100_000,
        "국민 " + "1-" * 50_000,
        "+82" * 30_000,
    ],
)
def test_pathological_inputs_complete(text: str) -> None:
    # No timing assert: the patterns are linear, so this finishes; a backtracking one would hang here.
    n = normalize(text)
    REGISTRY.analyze(n.text)
    REGISTRY.analyze(text)
