"""PhoneDetector: personal lines validated by phonenumbers; business and short numbers are not."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.phone import PhoneDetector

DETECTOR = PhoneDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.VALID for m in found)
    return [text[m.start:m.end] for m in found]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("010-1234-5678로 연락", "010-1234-5678"),
        ("01012345678", "01012345678"),
        ("010.1234.5678", "010.1234.5678"),
        ("010 1234 5678이에요", "010 1234 5678"),
        ("02-123-4567", "02-123-4567"),
        ("서울 (02) 1234-5678", "(02) 1234-5678"),
        ("031-123-4567번으로", "031-123-4567"),
        ("064-123-4567", "064-123-4567"),
        ("070-1234-5678", "070-1234-5678"),       # VoIP
        ("0505-123-4567", "0505-123-4567"),       # 050 safe number
        ("+82 10-1234-5678", "+82 10-1234-5678"),
        ("+821012345678", "+821012345678"),
        ("+82-2-1234-5678", "+82-2-1234-5678"),
        ("+82 (0)10 1234 5678", "+82 (0)10 1234 5678"),
    ],
)
def test_finds(text: str, span: str) -> None:
    assert _found(text) == [span]


@pytest.mark.parametrize(
    "text",
    [
        "1588-1234",               # business line
        "고객센터 1644-1234",
        "1899-1234",
        "080-123-4567",            # toll free
        "060-123-4567",            # premium
        "112", "119", "114",
        "010-XXXX-XXXX",
        "010-0000-0000",           # placeholder
        "010-1234-567",            # too short
        "010-1234-56789",          # too long
        "12010-1234-5678",         # inside a longer run
        "900101-1234568",          # an RRN
        "2024-03-15",
        "3,000원",
        "ISBN 978-89-123-4567-8",
        "휴대폰 번호는 11자리",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []


@pytest.mark.parametrize(
    "text",
    ["구청 민원실 전화번호 02-2148-1234 맞나요?", "문의처: 보건소 031-123-4567", "시청 대표전화 (02) 120-1234",
     "팩스 02-123-4567로 보내 주세요", "○○구청 노인복지과 02-2133-7540 으로 문의하시면 됩니다.",
     "영업팀: 02-555-1234", "강남점 02-3456-7890", "서울대학교병원 02-2072-2114", "도시계획국 전화 031-228-1234"],
)
def test_an_office_named_just_before_its_landline_makes_it_the_offices(text: str) -> None:
    assert _found(text) == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("고객센터 상담원인데 제 휴대폰은 010-1234-5678이에요", "010-1234-5678"),  # a mobile is a person's
        ("구청에 다녀왔어요. 그리고 우리 집 전화번호는 02-123-4567", "02-123-4567"),  # the office is too far back
        ("02-123-4567 고객센터로", "02-123-4567"),  # only words before the number name its office
        ("영업팀 김 과장 휴대폰 010-2345-6789", "010-2345-6789"),
        ("검사 결과 02-123-4567로 알려 주세요", "02-123-4567"),  # "결과" is not a department
        ("한국 02-123-4567", "02-123-4567"),
    ],
)
def test_the_office_rule_leaves_people_s_numbers(text: str, span: str) -> None:
    assert _found(text) == [span]
