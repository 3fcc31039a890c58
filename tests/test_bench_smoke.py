"""Every benchmark scenario runs end to end at its smallest size (`--tiny`, the test suite's tiny model).

Speed is not judged here (bench/RESULTS.md records it); this keeps the bench commands from rotting.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("scenario", ["inprocess", "baselines", "roofline", "tuning", "service", "stream_hold",
                                      "fairness", "roundtrip", "threads", "realspeed",
                                      "cascade", "longdocs", "models"])
def test_bench_scenario_runs(scenario: str) -> None:
    out = subprocess.run([sys.executable, "-m", f"bench.{scenario}", "--tiny"], cwd=ROOT, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip(), "a scenario prints its table"
