"""EmailDetector: addresses with Korean particles; no file names or reserved domains."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.email import EmailDetector

DETECTOR = EmailDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.VALID for m in found)
    return [text[m.start:m.end] for m in found]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("kim@naver.com으로 보내줘", "kim@naver.com"),
        ("메일: hong.gildong+tag@mail.co.kr.", "hong.gildong+tag@mail.co.kr"),
        ("<user_01@daum.net>", "user_01@daum.net"),
        ("Contact: Jane.Doe@Company.IO, thanks", "Jane.Doe@Company.IO"),
        ("이메일은kim@gmail.com입니다", "kim@gmail.com"),
    ],
)
def test_finds(text: str, span: str) -> None:
    assert _found(text) == [span]


@pytest.mark.parametrize(
    "text",
    [
        "user@localhost",
        "@username 님",
        "icon@2x.png",
        "user@example.com",
        "a@b.test",
        "kim@naver",
        "kim@.com",
        "kim.@naver.com",
        "kim..lee@naver.com",
        "이메일 형식은 아이디@도메인",
        "xxx@xxx",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
