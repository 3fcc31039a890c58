"""A card's expiry date and security code (CVC/CVV) are card data (P2): masked next to a masked card
number, in every masking operator, in a stream too; alone they are no finding."""

from __future__ import annotations

import re

import pytest

from guard.config import GuardConfig
from guard.masking import MaskOperator
from guard.policy import Policy
from guard.sdk import Guard
from guard.stream import StreamModerator
from guard.taxonomy import Category, SpanType

CARD = "4532-0151-1283-0366"


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.detectors_only()


def _details(guard: Guard, text: str) -> list[tuple[str, str]]:
    verdict = guard.check(text)
    return [(s.type, text[s.start:s.end]) for s in verdict.spans if s.type != SpanType.CARD.value]


@pytest.mark.parametrize(("text", "expiry", "cvc"), [
    (f"제 카드번호 {CARD} 유효기간 12/27 CVC 123로 결제해 주세요", "12/27", "123"),
    (f"My card number is {CARD.replace('-', ' ')}, exp 12/27, CVC 123.", "12/27", "123"),
    (f"아빠 카드 {CARD} 유효기간 2027년 3월 뒷면 번호 987 이걸로 결제해도 되나", "2027년 3월", "987"),
    (f"카드 뒷면 사진 대신 적어요 {CARD} 12/27 123", "12/27", "123"),             # no words at all
    (f"카드 {CARD.replace('-', ' ')} 12/27 123", "12/27", "123"),                # spaced: one joined run
    (f"결제 카드: {CARD.replace('-', '')} / 01/2029", "01/2029", None),
    (f"보안코드는 4321이고 카드는 {CARD}, 만료일 0128", "0128", "4321"),             # code before the card
    (f"card {CARD} expires 11/30 cvv2: 0042", "11/30", "0042"),
])
def test_expiry_and_code_next_to_a_card_are_found_and_masked(guard: Guard, text: str, expiry: str,
                                                             cvc: str | None) -> None:
    found = _details(guard, text)
    assert (SpanType.CARD_EXPIRY.value, expiry) in found
    if cvc is not None:
        assert (SpanType.CARD_CVC.value, cvc) in found
    verdict = guard.check(text)
    assert verdict.categories == [Category.P2.value] and verdict.action == "mask"
    assert verdict.masked is not None
    for value in (expiry, cvc):
        if value:
            assert value not in verdict.masked, verdict.masked
    assert "4532-0151-1283-0366" not in verdict.masked


@pytest.mark.parametrize("text", [
    "회의는 12/27 오후 3시, 참석자 123명",               # a date and a count, no card
    "CVC 123 유효기간 12/27",                            # card words but no card number
    "카드 유효기간 지나면 자동으로 새 카드 나와요?",
    f"보안코드랑 카드번호 {CARD} 알려줘",                  # the card's own digits are not its code
    f"카드 {CARD} 로 결제했고 " + "그리고 " * 20 + "CVC 123",  # the code is too far from the card
])
def test_no_card_data_without_a_card_next_to_it(guard: Guard, text: str) -> None:
    assert _details(guard, text) == []


def test_every_masking_operator_hides_them() -> None:
    config = GuardConfig(hmac_key=b"k" * 32)
    text = f"카드 {CARD} 유효기간 12/27 CVC 123"
    for operator, expected in ((MaskOperator.PLACEHOLDER, r"유효기간 \[카드 유효기간\] CVC \[카드 보안코드\]$"),
                               (MaskOperator.PARTIAL, r"유효기간 \*\*/\*\* CVC \*\*\*$"),
                               (MaskOperator.HASH,
                                r"유효기간 \[CARD_EXPIRY:[0-9a-f]{12}\] CVC \[CARD_CVC:[0-9a-f]{12}\]$")):
        masked = Guard.detectors_only(policy=Policy(masking=operator), config=config).check(text).masked
        assert masked is not None and re.search(expected, masked), (operator, masked)


def test_a_stream_never_shows_them(guard: Guard) -> None:
    text = f"카드는 {CARD} 이고 유효기간 12/27, CVC 123 입니다."
    moderator = StreamModerator(guard, role="assistant")
    shown = ""
    for ch in text:
        shown += moderator.feed(ch).text
        assert "12/27" not in shown and "CVC 123" not in shown, shown
    shown += moderator.finish().text
    assert "12/27" not in shown and "123 입니다" not in shown and shown.endswith("입니다."), shown
