"""Fixtures for the scan tests: a generated dataset, a scan runner in this process and as a CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guard.scan import EngineSpec, ScanOptions, ScanSettings, scan_file
from tests.scan.datagen import Dataset, make_dataset

REPO = Path(__file__).resolve().parents[2]
FIELDS = ("text", "messages")


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return make_dataset(180)


def run_local(tmp: Path, src: Path, tiny: Path, *, name: str = "out.jsonl", workers: int = 1,
              **kw: Any) -> tuple[Path, dict[str, Any]]:
    """Scan `src` in this process with the tiny model; return (output path, report)."""
    settings = kw.pop("settings", ScanSettings(fields=FIELDS, annotate="kguard"))
    out = tmp / name
    report = scan_file(ScanOptions(input=src, output=out, settings=settings,
                                   engine=EngineSpec.for_model(tiny), workers=workers,
                                   cores=2, chunk_size=kw.pop("chunk_size", 32), progress=False, **kw))
    return out, report


def cli(*args: str | Path, check: bool = False, env: dict[str, str] | None = None,
        **kw: Any) -> subprocess.CompletedProcess[str]:
    """`python -m guard.cli scan ARGS` in a subprocess (its own interpreter, like the installed CLI), in
    this process's environment or `env`."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**(os.environ if env is None else env), "HF_HUB_OFFLINE": "1", "PYTHONPATH": path}
    return subprocess.run([sys.executable, "-m", "guard.cli", "scan", *map(str, args)], capture_output=True,
                          text=True, env=env, check=check, timeout=300, **kw)


def counters(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a report that describe the result (not the timing of one run)."""
    skip = {"elapsed_s", "records_per_s", "records_this_run", "workers", "threads_per_worker"}
    return {k: v for k, v in report.items() if k not in skip}
