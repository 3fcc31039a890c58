"""Choosing the long-text settings (training.realtext.windows): the rule that picks one, and the folder
copy each setting is measured on. The figures themselves come from training.realtext.report on tune."""

from __future__ import annotations

import json
from pathlib import Path

from guard import Guard
from training.realtext.windows import MAX_DOCS_FLAGGED, Measured, Setting, choose, with_setting, write

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "kguard-ko-small"


def _m(window: int, penalty: float, flagged: float, kept: float) -> Measured:
    return Measured(Setting(window, penalty), macro_f1=0.9, benign_rows_flagged=0.01, docs_flagged=flagged, kept=kept)


def test_the_choice_keeps_the_most_within_the_flagged_budget() -> None:
    over = _m(48, 0.3, MAX_DOCS_FLAGGED + 0.01, 0.99)
    best = _m(64, 0.4, MAX_DOCS_FLAGGED, 0.95)
    tie_more_flagged = _m(64, 0.3, MAX_DOCS_FLAGGED, 0.95)
    fewer_kept = _m(64, 0.5, 0.01, 0.93)
    assert choose([over, tie_more_flagged, fewer_kept, best]) == best  # a tie: the larger penalty
    assert choose([over, fewer_kept, best]) == best
    tie_fewer_flagged = _m(64, 0.4, MAX_DOCS_FLAGGED - 0.01, 0.95)
    assert choose([best, tie_fewer_flagged]) == tie_fewer_flagged


def test_with_none_within_the_budget_the_fewest_flagged_is_chosen() -> None:
    a, b = _m(48, 0.3, 0.2, 0.99), _m(64, 0.5, 0.1, 0.9)
    assert choose([a, b]) == b


def test_a_setting_is_measured_on_a_copy_and_written_only_when_asked(tmp_path: Path) -> None:
    before = (SHIPPED / "labels.json").read_bytes()
    copy = tmp_path / "copy"
    copy.mkdir()
    news = ["오늘 회의는 세 시에 시작했다."] * 20
    long_text = " ".join([*news, "나 어제 우울증 진단 받았어.", *news])
    scores = {}
    for penalty in (0.0, 2.0):
        for path in copy.iterdir():
            path.unlink()
        guard = Guard(with_setting(SHIPPED, Setting(48, penalty), copy))
        scores[penalty] = guard.check(long_text).scores["S1"]
    assert (SHIPPED / "labels.json").read_bytes() == before  # the shipped folder is untouched
    assert scores[2.0] < scores[0.0]  # the copy's setting is the one the engine reads

    write(copy, Setting(64, 0.4))
    labels = json.loads((copy / "labels.json").read_text())
    assert (labels["sentence_window"], labels["window_penalty"]) == (64, 0.4)
    assert labels["thresholds"] == json.loads(before)["thresholds"]
