"""Format-preserving fakes: same shape, valid check digits (checked by the detectors), never in the text."""

from __future__ import annotations

import random
import re

import pytest

from guard.detectors.base import Validity
from guard.detectors.registry import DetectorRegistry
from guard.fakes import digits_of, make_fake
from guard.taxonomy import SpanType

REGISTRY = DetectorRegistry.default()

# (type, original, must a detector find the fake as VALID)
CASES = [
    (SpanType.RRN, "900101-1234568", True),
    (SpanType.RRN, "9001011234568", True),
    (SpanType.FRN, "900101-5234561", False),
    (SpanType.PHONE, "010-2345-6789", True),
    (SpanType.PHONE, "01023456789", True),
    (SpanType.CARD, "5105-1051-0510-5106", True),
    (SpanType.CARD, "4532015112830366", True),
    (SpanType.EMAIL, "kim.minsu@naver.com", True),
    (SpanType.ACCOUNT, "110-123-456789", False),
    (SpanType.PASSPORT, "M123A4567", False),
    (SpanType.DRIVER_LICENSE, "11-12-123456-78", False),
]


def _shape(value: str) -> str:
    return re.sub(r"[0-9]", "9", re.sub(r"[A-Za-z]", "a", value))


@pytest.mark.parametrize(("kind", "original", "validated"), CASES)
def test_a_fake_keeps_the_shape_and_passes_the_validators(kind: SpanType, original: str, validated: bool) -> None:
    rng = random.Random(7)
    for _ in range(30):
        fake = make_fake(kind, original, rng, original)
        assert fake is not None and fake != original
        if kind is not SpanType.EMAIL:
            assert _shape(fake) == _shape(original)
        if validated:
            found = [m for m in REGISTRY.analyze(fake) if m.start == 0 and m.end == len(fake)]
            assert found and found[0].type is kind and found[0].validity is Validity.VALID, fake


def test_card_fakes_keep_the_network_prefix() -> None:
    rng = random.Random(1)
    assert all(make_fake(SpanType.CARD, "4532015112830366", rng, "")[:2] == "45" for _ in range(20))  # type: ignore[index]


@pytest.mark.parametrize("name", ["홍길동", "김수", "남궁민수"])
def test_a_korean_name_gets_a_korean_name_of_its_length(name: str) -> None:
    fake = make_fake(SpanType.PERSON, name, random.Random(3), name)
    assert fake is not None and len(fake) == len(name) and re.fullmatch(r"[가-힣]+", fake)


def test_a_fake_never_occurs_in_the_text() -> None:
    rng = random.Random(0)
    # a text that already holds many candidate fakes: every drawn fake must avoid all of them
    text = " ".join(make_fake(SpanType.PERSON, "홍길동", random.Random(i), "") or "" for i in range(300))
    for _ in range(50):
        fake = make_fake(SpanType.PERSON, "홍길동", rng, text)
        assert fake is None or fake not in text
    digits = "01023456789 " + "".join(str(i % 10) for i in range(500))
    fake = make_fake(SpanType.PHONE, "010-2345-6789", rng, digits)
    assert fake is None or digits_of(fake) not in digits_of(digits)


def test_a_fake_never_carries_the_original_digits() -> None:
    # about one seed in 500 draws the original's year with a month and day that hold its digits
    for seed in range(5000):
        fake = make_fake(SpanType.BIRTH_DATE, "1990년 1월 1일", random.Random(seed), "")
        assert fake is not None and "199011" not in digits_of(fake)


def test_a_short_fake_number_never_repeats_one_that_stands_alone_in_the_text() -> None:
    # every three-digit house number the address maker draws already stands alone in the text (a CVC,
    # the original address): the fake's number must be one that does not
    text = "카드 뒷면 " + " ".join(str(n) for n in range(100, 300))
    for seed in range(100):
        fake = make_fake(SpanType.ADDRESS, "서울특별시 강남구 테헤란로 123", random.Random(seed), text)
        assert fake is not None and int(fake.rsplit(" ", 1)[1]) < 100


@pytest.mark.parametrize(("original", "pattern"), [
    ("1990년 1월 1일", r"(19|20)\d\d년 \d{1,2}월 \d{1,2}일"),
    ("1990.01.01", r"(19|20)\d\d\.\d\d\.\d\d"),
    ("900101", r"\d{6}"),
])
def test_birth_dates_keep_their_format(original: str, pattern: str) -> None:
    fake = make_fake(SpanType.BIRTH_DATE, original, random.Random(5), original)
    assert fake is not None and re.fullmatch(pattern, fake)


def test_credentials_keep_a_vendor_prefix_and_character_classes() -> None:
    fake = make_fake(SpanType.CREDENTIAL, "sk-abcDEF123456", random.Random(2), "")
    assert fake is not None and fake.startswith("sk-") and _shape(fake) == _shape("sk-abcDEF123456")
