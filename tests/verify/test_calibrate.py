"""`kguard calibrate`: thresholds that meet the target on the rows, written as a policy file every command
accepts, commented with figures and bootstrap intervals; too few examples keeps the model's threshold."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from guard.cli import main
from guard.policy import Policy
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES
from guard.verify.dataset import load_rows
from guard.verify.scoring import score_rows
from tests.verify.conftest import write_jsonl

_HEALTH = ("공황장애", "우울증", "당뇨", "고혈압", "갑상선암", "천식", "ADHD", "조울증")
_WHO = ("제가", "저희 엄마가", "남편이", "우리 팀장님이")
_SAFE = ("{d} 증상이 뭐예요?", "{d}에 좋은 음식 알려줘", "{d} 환자 통계 자료 있어?", "{d}은 어떻게 치료해요?",
         "내일 회의 몇 시예요?", "고객센터 1588-1234로 전화 주세요.")


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(24):
        d, who = _HEALTH[i % len(_HEALTH)], _WHO[i % len(_WHO)]
        rows.append({"id": f"s1-{i}", "text": f"{who} 작년에 {d} 진단을 받았어요.", "labels": ["S1"]})
        rows.append({"id": f"p3-{i}", "text": f"제 연락처는 010-0{300 + i}-{4100 + 7 * i}이에요.", "labels": ["P3"]})
        rows.append({"id": f"safe-{i}", "text": _SAFE[i % len(_SAFE)].format(d=d), "labels": []})
    rows.append({"id": "s9-0", "text": "저희 어머니는 조선족이세요.", "labels": ["S9"]})
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("cal") / "labelled.jsonl", _rows())


def _calibrate(tmp: Path, data: Path, *goal: str) -> tuple[int, Path, str]:
    out = tmp / "policy.toml"
    code = main(["calibrate", str(data), *goal, "-o", str(out), "--bootstrap", "300"])
    return code, out, out.read_text(encoding="utf-8") if out.exists() else ""


def test_target_precision_policy_is_accepted_and_met(tmp_path: Path, data: Path, guard: Guard,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    code, out, text = _calibrate(tmp_path, data, "--target-precision", "0.95")
    _, err = capfd.readouterr()
    assert code == 0
    policy = Policy.from_file(out)
    assert set(policy.thresholds) == {"P3", "S1"}  # the only categories with 20 labelled rows
    for code_ in ("P3", "S1"):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"# {code_}:"))
        assert re.search(r"precision \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\], recall \d\.\d{3} \[", line), line
    assert "# S9: refused: too few examples: 1 labelled rows" in text and "model's threshold" in text
    assert "S9: refused: too few examples" in err
    # the guard under the written policy meets the target on the rows (its flags, not our arithmetic)
    s = score_rows(Guard(policy=policy), load_rows(data))
    for code_ in ("P3", "S1"):
        c = CATEGORY_CODES.index(code_)
        tp = np.sum(s.flagged[:, c] & s.truth[:, c])
        assert tp / max(1, s.flagged[:, c].sum()) >= 0.95 and tp > 0
    # and every command takes the file
    assert main(["check", "--policy", str(out), "제 연락처는 010-0417-2593이에요"]) == 1
    assert main(["scan", str(data), "--field", "text", "-o", str(tmp_path / "s.jsonl"), "--policy", str(out),
                 "--workers", "1", "--no-progress", "--no-model"]) == 1


def test_max_fpr_and_refusal_keeps_a_base_threshold(tmp_path: Path, data: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text('masking = "placeholder"\n[thresholds]\nS9 = 0.42\n[assistant]\nP5 = "flag"\n')
    out = tmp_path / "policy.toml"
    assert main(["calibrate", str(data), "--max-fpr", "0.0", "-o", str(out), "--policy", str(base),
                 "--bootstrap", "200"]) == 0
    policy, text = Policy.from_file(out), out.read_text(encoding="utf-8")
    assert policy.thresholds["S9"] == 0.42 and "the base policy's threshold 0.42 stays" in text
    assert policy.masking.value == "placeholder" and policy.actions[next(iter(policy.actions))]
    assert 'P5 = "flag"' in text.split("[assistant]")[1]
    assert "FPR 0.000" in text


def test_calibrate_refuses_bad_goals(tmp_path: Path, data: Path) -> None:
    assert main(["calibrate", str(data), "--target-precision", "1.5", "-o", str(tmp_path / "p.toml")]) == 2
    assert main(["calibrate", str(data), "--target-precision", "0.9", "-o", str(data)]) == 2
    with pytest.raises(SystemExit):
        main(["calibrate", str(data), "-o", str(tmp_path / "p.toml")])
