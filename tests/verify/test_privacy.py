"""The privacy rule across the verification commands: with every logger at DEBUG and the planted markers
in the labelled rows, nothing of them reaches stderr, a log record or any file the commands write."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.cli import main
from tests.hardening.privacy import TEXT, assert_clean, debug_logs, files_under
from tests.verify.conftest import write_jsonl


def test_eval_calibrate_redteam_keep_texts_out(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    rows = [{"id": f"m-{i}", "text": TEXT, "labels": ["P1", "P2", "P3", "P4"] if i % 2 else []} for i in range(6)]
    data = write_jsonl(tmp_path / "marked.jsonl", rows)
    out = tmp_path / "out"
    runs = (["eval", str(data), "--out", str(out / "eval"), "--no-html"],
            ["calibrate", str(data), "--target-precision", "0.9", "--min-positives", "2", "--min-negatives", "2",
             "-o", str(out / "policy.toml"), "--bootstrap", "50"],
            ["redteam", "--seeds", str(data), "--out", str(out / "redteam"), "--transforms", "spacing,split_turns"])
    errs = []
    with debug_logs() as logs:
        for argv in runs:
            code = main(argv)
            _, err = capfd.readouterr()
            assert code == 0, (argv[0], err)
            errs.append((argv[0], err))
    assert_clean([*errs, ("logs", "\n".join(logs)), *files_under(out)])
