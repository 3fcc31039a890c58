"""End to end: a generated file with planted identifiers and sensitive sentences, scanned for real."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guard.scan import ScanSettings
from guard.scan.checkpoint import checkpoint_path
from tests.extras import need
from tests.scan.conftest import FIELDS, REPO, cli, counters, run_local
from tests.scan.datagen import CLEAN, SENSITIVE, Dataset, make_dataset


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_no_secret(dataset: Dataset, *blobs: str) -> None:
    for blob in blobs:
        for secret in dataset.secrets:
            assert secret not in blob
            assert secret.replace("-", "") not in blob
        for sentence in SENSITIVE.values():
            assert sentence not in blob


def test_finds_and_masks_every_planted_item(tmp_path: Path, dataset: Dataset, tiny_model_dir: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    caplog.set_level(logging.DEBUG)
    out, report = run_local(tmp_path, src, tiny_model_dir)
    rows = _rows(out)
    assert len(rows) == len(dataset.records)
    flagged = {r["id"]: set(r["kguard"]) for r in rows if r["kguard"]}
    for number, expected in dataset.expected.items():
        assert expected <= flagged.get(number, set()), number
    assert set(flagged) == set(dataset.expected)  # clean records stay clean
    assert report["records"] == len(dataset.records) and report["written"] == len(rows)
    assert report["flagged"] == len(dataset.expected)
    assert sum(report["by_category"].values()) >= len(dataset.expected)
    assert report["by_role"]["assistant"]["P3"] >= 1  # the planted phone numbers are in answers
    for code, numbers in report["examples"].items():
        assert all(code in flagged[n] for n in numbers)
    # the unflagged fields and the fields not scanned are written unchanged
    originals = {r["id"]: r for r in dataset.records}
    for row in rows:
        assert row["lang"] == "ko"
        if row["id"] not in flagged:
            assert {k: v for k, v in row.items() if k != "kguard"} == originals[row["id"]]
    _assert_no_secret(dataset, out.read_text(encoding="utf-8"),
                      (tmp_path / "out.jsonl.report.json").read_text(encoding="utf-8"), caplog.text)
    assert not checkpoint_path(out).exists()  # removed once the scan is complete


def test_masked_fields_keep_their_placeholders(tmp_path: Path, dataset: Dataset,
                                               tiny_model_dir: Path) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    out, _ = run_local(tmp_path, src, tiny_model_dir)
    by_id = {r["id"]: r for r in _rows(out)}
    rrn_row = next(by_id[n] for n, c in dataset.expected.items() if c == {"P1"})
    assert "[주민등록번호]" in rrn_row["text"]
    s1_row = next(by_id[n] for n, c in dataset.expected.items() if c == {"S1"})
    assert s1_row["text"] == "[건강]"  # a sentence-level flag has no span: the field is replaced


def test_drop_leaves_flagged_records_out(tmp_path: Path, dataset: Dataset, tiny_model_dir: Path) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    out, report = run_local(tmp_path, src, tiny_model_dir,
                            settings=ScanSettings(fields=FIELDS, drop=True))
    ids = {r["id"] for r in _rows(out)}
    assert ids == {r["id"] for r in dataset.records} - set(dataset.expected)
    assert report["dropped"] == len(dataset.expected) and report["written"] == len(ids)


def test_one_process_and_two_give_the_same_bytes(tmp_path: Path, dataset: Dataset,
                                                 tiny_model_dir: Path) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    one, r1 = run_local(tmp_path, src, tiny_model_dir, name="one.jsonl", workers=1)
    two, r2 = run_local(tmp_path, src, tiny_model_dir, name="two.jsonl", workers=2)
    assert r2["workers"] == 2 and r2["threads_per_worker"] == 1
    assert one.read_bytes() == two.read_bytes()
    assert {k: v for k, v in counters(r1).items() if k != "output"} == \
        {k: v for k, v in counters(r2).items() if k != "output"}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "text"])
def test_other_formats_are_masked_too(tmp_path: Path, dataset: Dataset, tiny_model_dir: Path,
                                      fmt: str) -> None:
    texts = [r["text"] for r in dataset.records]
    if fmt == "csv":
        import csv

        src = tmp_path / "in.csv"
        with src.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "text"])
            w.writerows([r["id"], r["text"]] for r in dataset.records)
    elif fmt == "parquet":
        pa, pq = need("pyarrow", "scan"), need("pyarrow.parquet", "scan")

        src = tmp_path / "in.parquet"
        pq.write_table(pa.table({"id": [r["id"] for r in dataset.records], "text": texts}), src,
                       row_group_size=50)
    else:
        src = tmp_path / "in.txt"
        src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out, report = run_local(tmp_path, src, tiny_model_dir, name=f"out.{src.suffix[1:]}",
                            settings=ScanSettings(fields=("text",)))
    planted_in_text = [n for n in dataset.expected if texts[n - 1] not in CLEAN]
    assert planted_in_text and report["flagged"] == len(planted_in_text)
    assert report["records"] == len(texts) and report["written"] == len(texts)
    if fmt == "parquet":
        body = json.dumps(pq.read_table(out).to_pylist(), ensure_ascii=False)
        assert pq.read_table(out).num_rows == len(texts)
    else:
        body = out.read_text(encoding="utf-8")
    text_secrets = Dataset(records=[], secrets=[s for s in dataset.secrets if any(s in t for t in texts)])
    _assert_no_secret(text_secrets, body)


def test_killed_half_way_then_resumed_equals_an_uninterrupted_run(tmp_path: Path,
                                                                  tiny_model_dir: Path) -> None:
    dataset = make_dataset(3000, seed=11)
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    args = [src, "-f", "text,messages", "--model", tiny_model_dir, "--workers", "1", "--chunk-size", "20",
            "--annotate", "kguard", "--no-progress"]
    full = cli(*args, "-o", tmp_path / "full.jsonl")
    assert full.returncode == 1, full.stderr  # 1: something flagged
    out = tmp_path / "killed.jsonl"
    ck = checkpoint_path(out)
    proc = subprocess.Popen([sys.executable, "-m", "guard.cli", "scan", *map(str, args), "-o", str(out)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = _wait_for_progress(ck, proc, at_least=400)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 400 <= seen < len(dataset.records), "the scan was not killed half-way"
    ck_text = ck.read_text(encoding="utf-8")
    _assert_no_secret(dataset, ck_text, proc.stderr.read().decode() if proc.stderr else "")
    resumed = cli(*args, "-o", out, "--resume")
    assert resumed.returncode == 1, resumed.stderr
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    r_full = json.loads((tmp_path / "full.jsonl.report.json").read_text(encoding="utf-8"))
    r_res = json.loads((tmp_path / "killed.jsonl.report.json").read_text(encoding="utf-8"))
    assert r_res["records_this_run"] < r_res["records"]  # the resume did not start over
    drop = {"output"}
    assert {k: v for k, v in counters(r_res).items() if k not in drop} == \
        {k: v for k, v in counters(r_full).items() if k not in drop}
    _assert_no_secret(dataset, resumed.stderr, full.stderr,
                      (tmp_path / "killed.jsonl.report.json").read_text(encoding="utf-8"))


def _wait_for_progress(ck: Path, proc: subprocess.Popen[bytes], *, at_least: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            items = json.loads(ck.read_text(encoding="utf-8"))["items"]
        except (OSError, ValueError, KeyError):
            items = 0
        if items >= at_least:
            return int(items)
        time.sleep(0.005)
    return -1


def test_resume_refuses_another_input(tmp_path: Path, dataset: Dataset, tiny_model_dir: Path) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    checkpoint_path(out).write_text(json.dumps({"version": 1, "fingerprint": "other"}), encoding="utf-8")
    done = cli(src, "-o", out, "-f", "text", "--model", tiny_model_dir, "--resume", "--no-progress")
    assert done.returncode == 2 and "changed since the checkpoint" in done.stderr


def test_cli_needs_a_field(tmp_path: Path, dataset: Dataset) -> None:
    src = dataset.write_jsonl(tmp_path / "in.jsonl")
    done = cli(src, "-o", tmp_path / "out.jsonl", "--no-model")
    assert done.returncode == 2 and "--field" in done.stderr
