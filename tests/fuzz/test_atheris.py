"""The atheris targets, each run for a bounded number of inputs (CI size); a crash fails the test.

tests/fuzz/run_atheris.py runs them for longer and records the figures in tests/fuzz/FUZZ_RECORD.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is not installed (dev extra)")

from tests.fuzz.run_atheris import TARGETS, run_target  # noqa: E402

CI_RUNS = 3000
CI_SECONDS = 30


@pytest.mark.parametrize("target", TARGETS)
def test_atheris_target_bounded(target: str, tmp_path: Path) -> None:
    result = run_target(target, runs=CI_RUNS, seconds=CI_SECONDS, workdir=tmp_path, max_len=2048)
    crashes = [p.name for p in tmp_path.iterdir() if p.name.startswith(f"{target}-")]
    assert result.exit_code == 0 and not crashes, f"{target} crashed: {crashes}"
    assert result.runs > 0  # it really ran (bounded by CI_RUNS or CI_SECONDS, whichever first)
