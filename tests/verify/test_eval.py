"""`kguard eval`: the report's figures agree with the guard's own verdicts, rows appear by id, and texts
only with --show-text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from guard.cli import main
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES
from guard.verify.dataset import load_rows
from guard.verify.metrics import average_precision, pr_curve
from guard.verify.scoring import score_rows
from tests.extras import need
from tests.hardening.privacy import RRN, WORD, WORD_KO
from tests.verify.conftest import SEEDS, write_jsonl


def test_flags_are_exactly_the_scores_at_the_thresholds_in_force(guard: Guard) -> None:
    s = score_rows(guard, load_rows(SEEDS))
    thresholds = np.array([s.thresholds[c] for c in CATEGORY_CODES])
    assert len(s.rows) == 49 and not s.errors
    np.testing.assert_array_equal(s.flagged, s.scores >= thresholds)


def test_pr_curve_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(60), 1)
    truth = rng.random(60) < 0.4
    levels, precision, recall = pr_curve(scores, truth)
    for t, p, r in zip(levels, precision, recall, strict=True):
        flagged = scores >= t
        assert p == pytest.approx(np.sum(flagged & truth) / flagged.sum())
        assert r == pytest.approx(np.sum(flagged & truth) / truth.sum())
    assert average_precision(np.where(truth, 0.9, 0.1), truth) == 1.0


@pytest.fixture(scope="module")
def marked_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeds plus rows carrying the privacy markers: a missed label and a false alarm among them."""
    rows = [json.loads(line) for line in SEEDS.read_text(encoding="utf-8").splitlines()]
    rows += [{"id": "marked-alarm", "text": f"{WORD} {WORD_KO} 주민번호 {RRN}", "labels": []},
             {"id": "marked-miss", "text": f"{WORD} {WORD_KO} 오늘 날씨 좋네요", "labels": ["S1"]}]
    return write_jsonl(tmp_path_factory.mktemp("eval") / "marked.jsonl", rows)


def _eval(tmp: Path, data: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    out = tmp / "out"
    code = main(["eval", str(data), "--out", str(out), *extra])
    return code, json.loads((out / "report.json").read_text(encoding="utf-8")), out.as_posix()


def test_eval_report_names_rows_by_id_only(tmp_path: Path, marked_file: Path,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    code, report, out = _eval(tmp_path, marked_file, "--no-html")
    _, err = capfd.readouterr()
    assert code == 0
    assert report["rows_judged"] == 51 and report["unsafe_rows"] == 37 and report["safe_rows"] == 14
    worst = {(e["id"], e["kind"]) for e in report["worst_errors"]}  # type: ignore[union-attr]
    assert {("marked-alarm", "false_alarm"), ("marked-miss", "missed")} <= worst
    assert set(report["categories"]) == set(CATEGORY_CODES)  # type: ignore[arg-type]
    assert report["confusion"]["matrix"][-1][CATEGORY_CODES.index("P1")] == 1  # type: ignore[index]
    assert report["spans"]["RRN"]["tp"] == 2  # type: ignore[index]
    blob = Path(out, "report.json").read_text(encoding="utf-8") + err
    for marker in (WORD, WORD_KO, RRN, "2345671", "공황장애"):
        assert marker not in blob
    assert not Path(out, "report.html").exists()


def test_show_text_puts_the_worst_errors_texts_in(tmp_path: Path, marked_file: Path) -> None:
    code, report, _ = _eval(tmp_path, marked_file, "--no-html", "--show-text")
    texts = {e["id"]: e["text"] for e in report["worst_errors"]}  # type: ignore[union-attr]
    assert code == 0 and report["show_text"] is True and WORD in texts["marked-alarm"]


def test_html_report_is_self_contained(tmp_path: Path, marked_file: Path) -> None:
    need("matplotlib", "verify")
    code, _, out = _eval(tmp_path, marked_file)
    page = Path(out, "report.html").read_text(encoding="utf-8")
    assert code == 0
    assert "default-src 'none'; img-src data:" in page
    assert page.count('<img class="plot"') == 3
    assert "http://" not in page.replace('xmlns="http://www.w3.org', "") and "https://" not in page
    for marker in (WORD, WORD_KO, RRN):
        assert marker not in page


def test_eval_errors_exit_2_without_text(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": WORD, "labels": [WORD]}])
    assert main(["eval", str(bad), "--out", str(tmp_path / "o"), "--no-html"]) == 2
    _, err = capfd.readouterr()
    assert "row 1" in err and WORD not in err
