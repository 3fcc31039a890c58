"""Re-identification risk: quasi-identifiers, k-anonymity, l-diversity, generalization; no value in the report."""

from __future__ import annotations

import json
import random

import pytest

from guard.reid import ReidAnalysis, quasi_identifiers
from guard.verdict import Span


@pytest.mark.parametrize(("text", "expected"), [
    ("김민수(남, 35세)는 서울 강남구에 살아요", {"age": ["35"], "gender": ["M"], "region": ["서울 강남구"]}),
    ("저는 30대 여성이고 삼성전자에서 근무하는 과장입니다", {"age": ["30s"], "gender": ["F"],
                                                  "workplace": ["삼성전자"], "job_title": ["과장"]}),
    ("한국고등학교 졸업, 1989년생", {"birth_year": ["1989"], "school": ["한국고등학교"]}),
    ("2023년 3월 5일 입원했어요", {"event_date": ["2023-03-05"]}),
    ("오늘 날씨가 좋네요", {}),
])
def test_quasi_identifiers_from_text(text: str, expected: dict[str, list[str]]) -> None:
    assert quasi_identifiers(text) == expected


def test_quasi_identifiers_from_spans() -> None:
    text = "주민번호 900101-2234567, 생일 1990.01.01, 주소 부산광역시 해운대구 우동 1"
    spans = [Span(5, 19, "RRN", "P1", 1.0, "detector"), Span(24, 34, "BIRTH_DATE", "P5", 0.9, "model"),
             Span(39, 55, "ADDRESS", "P3", 0.9, "model")]
    found = quasi_identifiers(text, spans)
    assert found["birth_date"] == ["1990-01-01"] and found["gender"] == ["F"]
    assert found["birth_year"] == ["1990"] and found["region"][0] == "부산 해운대구"
    assert "event_date" not in found  # a birth date is not an event


def _analysis(n: int = 60, seed: int = 0) -> ReidAnalysis:
    rng = random.Random(seed)
    analysis = ReidAnalysis()
    for i in range(1, n + 1):
        analysis.add(i, {"age": str(rng.randrange(20, 60)), "gender": rng.choice("MF"),
                         "region": rng.choice(["서울 강남구", "서울 마포구", "부산 해운대구"])},
                     [rng.choice(["S1", "S5"])])
    return analysis


def test_k_and_l_and_the_classes_below_by_record_number() -> None:
    analysis = ReidAnalysis()
    for number in (1, 2, 3):
        analysis.add(number, {"age": "35", "gender": "M"}, ["S1"])
    analysis.add(4, {"age": "41", "gender": "F"}, ["S1"])
    analysis.add(5, {"age": "41", "gender": "F"}, [])
    report = analysis.report(k=3, l_min=2)
    assert (report["k"], report["l"], report["equivalence_classes"]) == (2, 1, 2)
    assert report["classes_below_k"] == [{"class": 1, "size": 2, "records": [4, 5]}]
    assert report["classes_below_l"] == [{"class": 1, "size": 3, "records": [1, 2, 3]}]


def test_a_generalization_reaches_k_and_the_report_carries_no_value() -> None:
    report = _analysis().report(k=5)
    assert report["k"] < 5
    general = report["generalization"]
    assert general["reaches_k"] and general["records_below_k"] == 0 and general["steps"]
    assert [s["records_below_k"] for s in general["steps"]] == sorted(
        (s["records_below_k"] for s in general["steps"]), reverse=True)
    dumped = json.dumps(report, ensure_ascii=False)
    for value in ("강남구", "마포구", "해운대구", "서울", "부산", '"35"'):
        assert value not in dumped


def test_the_fields_can_be_named() -> None:
    report = _analysis().report(k=2)
    named = ReidAnalysis(fields=["gender"])
    for i in range(1, 11):
        named.add(i, {"gender": "M" if i % 2 else "F", "age": str(i)})
    assert named.report(k=2)["k"] == 5 and report["fields"] == ["age", "gender", "region"]
