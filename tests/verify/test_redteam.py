"""`kguard redteam --seeds`: catch rates per transform and category, variants by id, texts only on request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.cli import main
from guard.sdk import Guard
from guard.verify.redteam import builtin_seeds, robustness
from guard.verify.transforms import TRANSFORMS
from tests.hardening.privacy import WORD
from tests.verify.conftest import write_jsonl

SEEDS = [
    {"id": "rrn", "text": f"{WORD} 제 주민번호는 850715-2345671이에요.", "labels": ["P1"],
     "translation": f"{WORD} My RRN is 850715-2345671."},
    {"id": "phone", "text": f"{WORD} 제 번호 010-0417-2593으로 연락 주세요.", "labels": ["P3"]},
    {"id": "topic", "text": f"{WORD} 공황장애 증상이 뭐예요?", "labels": []},
]


def test_every_transform_reported_by_id(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    seeds = write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    assert main(["redteam", "--seeds", str(seeds), "--out", str(tmp_path / "out")]) == 0
    _, err = capfd.readouterr()
    raw = (tmp_path / "out" / "report.json").read_text(encoding="utf-8")
    report = json.loads(raw)
    assert report["mode"] == "robustness" and report["seeds"] == 3 and report["unsafe_seeds"] == 2
    assert set(report["by_transform"]) == {"none", *TRANSFORMS}
    assert report["by_transform"]["none"]["catch_rate"] == {"rate": 1.0, "hit": 2, "of": 2}
    assert report["by_transform"]["fullwidth"]["catch_rate"]["of"] == 2
    assert report["by_transform"]["translation"]["catch_rate"]["of"] == 1
    assert set(report["by_category"]) == {"P1", "P3"}
    assert report["by_transform_and_category"]["zero_width"]["P1"]["of"] == 1
    assert all(":" in m["id"] and "text" not in m for m in report["missed"] + report["false_alarms"])
    assert WORD not in raw and WORD not in err and "850715" not in raw


def test_show_text_and_unknown_transform(tmp_path: Path, guard: Guard) -> None:
    seeds = write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    assert main(["redteam", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--transforms", "nope"]) == 2
    rows = __import__("guard.verify.dataset", fromlist=["load_rows"]).load_rows(seeds)
    figures = robustness(guard, rows, ("base64",), show_text=True)
    assert figures["missed"] and all(WORD not in m["text"] for m in figures["missed"])  # base64: encoded
    figures = robustness(guard, rows, ("split_turns",), show_text=True)
    shown = [m["text"] for m in figures["missed"] + figures["false_alarms"]]
    assert not shown or any(WORD in t for t in shown)


def test_builtin_seeds_run(guard: Guard) -> None:
    figures = robustness(guard, builtin_seeds(), ("fullwidth", "zero_width"))
    none = figures["by_transform"]["none"]["catch_rate"]
    assert none["of"] == 36 and none["rate"] >= 0.9
    assert figures["by_transform"]["zero_width"]["catch_rate"]["of"] == 36
    assert figures["by_transform"]["none"]["false_alarm_rate"]["of"] == 13
