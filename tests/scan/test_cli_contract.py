"""What `kguard scan` promises on the command line: it never writes over its input, --resume works on a
first run, its exit code tells clean (0) from found and handled (1) from an error (2), a field no
record has is an error, nothing unscanned is written as clean, and a setting that would stop every
worker is refused in one line before any starts."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest

from guard.config import HMAC_KEY_ENV
from guard.errors import InputError
from guard.scan import ScanSettings
from tests.scan.conftest import cli, run_local
from tests.scan.datagen import CLEAN, Dataset

TEXT_ONLY = ScanSettings(fields=("text",))


def _one_line_error(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kguard scan: error: "), stderr
    assert "Traceback" not in stderr and "out of memory" not in stderr, stderr
    for needle in needles:
        assert needle in lines[0], stderr


# Item 3: the output is never the input ---------------------------------------------------------------

def test_an_output_that_is_the_input_is_refused(tmp_path: Path, dataset: Dataset, tiny_model_dir: Path) -> None:
    (tmp_path / "data").mkdir()
    src = dataset.write_jsonl(tmp_path / "data" / "in.jsonl")
    original = src.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(src)
    (tmp_path / "dirlink").symlink_to(src.parent)
    os.link(src, tmp_path / "hard.jsonl")
    cases = {"same file": {"name": "data/in.jsonl"}, "symlink to it": {"name": "link.jsonl"},
             "hard link to it": {"name": "hard.jsonl"}, "its folder": {"name": "data"},
             "symlink to its folder": {"name": "dirlink"}, "report over it": {"report": src}}
    for case, kw in cases.items():
        with pytest.raises(InputError, match="would overwrite the input"):
            run_local(tmp_path, src, tiny_model_dir, settings=TEXT_ONLY, **kw)  # type: ignore[arg-type]
        assert src.read_bytes() == original, case
    assert not (tmp_path / "data" / "in.jsonl.report.json").exists()


def test_the_cli_refuses_x_to_x_with_exit_2_and_keeps_x(tmp_path: Path, dataset: Dataset) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    original = src.read_bytes()
    for output, extra in ((src, []), (tmp_path, []), (tmp_path / "out.jsonl", ["--report", str(src)])):
        done = cli(src, "-o", output, "-f", "text", "--no-model", "--no-progress", *extra)
        assert done.returncode == 2, done.stderr
        _one_line_error(done.stderr, "would overwrite the input")
        assert src.read_bytes() == original


# Item 4: --resume on a first run ---------------------------------------------------------------------

def test_resume_with_nothing_to_resume_starts_from_the_beginning(tmp_path: Path, dataset: Dataset,
                                                                 tiny_model_dir: Path) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    args = [src, "--field", "text", "--drop", "--workers", "2", "--model", tiny_model_dir, "--no-progress"]
    first = cli(*args, "-o", tmp_path / "resumed.jsonl", "--resume")  # the README's second example
    assert first.returncode == 1, first.stderr
    assert "nothing to resume" in first.stderr
    plain = cli(*args, "-o", tmp_path / "plain.jsonl")
    assert plain.returncode == 1, plain.stderr
    assert (tmp_path / "resumed.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()


# Item 5: exit codes, missing fields, nothing unscanned written as clean ------------------------------

def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                            for r in rows), encoding="utf-8")
    return path


def test_exit_codes_tell_clean_from_found_from_error(tmp_path: Path) -> None:
    clean = [{"id": i, "text": t} for i, t in enumerate(CLEAN)]
    flagged = [*clean, {"id": 9, "text": "연락처는 010-2345-6789입니다"}]
    cases = {"clean": (clean, 0), "flagged": (flagged, 1),
             "unreadable line": ([*clean, '{"id": 8, "text": '], 2),
             "flagged and unreadable": ([*flagged, '{"id": 8, "text": '], 2)}
    for name, (rows, expected) in cases.items():
        src = _jsonl(tmp_path / f"{name}.jsonl", rows)
        done = cli(src, "-o", tmp_path / f"{name}.out.jsonl", "-f", "text", "--no-model", "--no-progress",
                   "--workers", "1")
        assert done.returncode == expected, (name, done.stderr)
        if expected == 2:
            assert "could not be read or judged" in done.stderr


def test_a_field_no_record_has_is_an_error_and_nothing_is_written(tmp_path: Path, dataset: Dataset) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    with (tmp_path / "in.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "text"], *([r["id"], r["text"]] for r in dataset.records)])
    for source, fields in ((src, "txt"), (src, "text,mesages"), (tmp_path / "in.csv", "txt")):
        out = tmp_path / f"out{source.suffix}"
        done = cli(source, "-o", out, "-f", fields, "--no-model", "--no-progress", "--workers", "1")
        assert done.returncode == 2, done.stderr
        _one_line_error(done.stderr, "no record has the field", "--field")
        assert not out.exists(), "nothing may be written: every record would pass unscanned"


def test_a_field_missing_from_some_records_only_is_no_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    src = _jsonl(tmp_path / "in.jsonl", [{"id": 1, "other": "x"}, {"id": 2, "text": "오늘 날씨 좋다"}])
    out, report = run_local(tmp_path, src, tiny_model_dir, settings=TEXT_ONLY)
    assert report["errors"] == {"missing_field": 1} and report["unwritten_errors"] == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_a_value_that_is_not_text_is_not_written_as_clean(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"id": 1, "text": 9001011234568}, {"id": 2, "text": {"nested": "900101-1234568"}},
            {"id": 3, "text": ["오늘 날씨 좋다", 9001011234568]},
            {"id": 4, "text": [{"role": "assistant", "content": None, "tool_calls": []}]},
            {"id": 5, "text": "오늘 날씨 좋다"}]
    out, report = run_local(tmp_path, _jsonl(tmp_path / "in.jsonl", rows), tiny_model_dir, settings=TEXT_ONLY)
    written = [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == [4, 5]  # a turn without content has nothing to scan; the rest were not scanned
    assert report["errors"] == {"not_text": 3} and report["unwritten_errors"] == 3
    assert "9001011234568" not in out.read_text(encoding="utf-8")


def test_hash_masking_without_a_key_is_one_line_before_any_worker(tmp_path: Path, dataset: Dataset) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    env = {k: v for k, v in os.environ.items() if k not in (HMAC_KEY_ENV, "KGUARD_HMAC_KEY_FILE")}
    out = tmp_path / "out.jsonl"
    done = cli(src, "-o", out, "-f", "text", "--no-model", "--masking", "hash", "--workers", "2",
               "--no-progress", env=env)
    assert done.returncode == 2, done.stderr
    _one_line_error(done.stderr, "--masking hash needs a key", HMAC_KEY_ENV)
    assert not out.exists()
    # the key file named by KGUARD_HMAC_KEY_FILE reaches the workers too
    key = tmp_path / "key"
    key.write_text("k" * 32)
    done = cli(src, "-o", out, "-f", "text", "--no-model", "--masking", "hash", "--workers", "2",
               "--no-progress", env={**env, "KGUARD_HMAC_KEY_FILE": str(key)})
    assert done.returncode == 1, done.stderr
    assert re.search(r"\[RRN:[0-9a-f]{12}\]", out.read_text(encoding="utf-8"))


def test_a_worker_that_cannot_load_its_model_says_why(tmp_path: Path, dataset: Dataset) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    done = cli(src, "-o", tmp_path / "out.jsonl", "-f", "text", "--model", tmp_path / "no-such-model",
               "--workers", "2", "--no-progress")
    assert done.returncode == 2, done.stderr
    _one_line_error(done.stderr, "no-such-model")
