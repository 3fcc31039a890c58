"""Run the atheris targets for longer than CI does and record how many inputs ran for how long.

    .venv/bin/python -m tests.fuzz.run_atheris --seconds 120            # every target, 120 s each
    .venv/bin/python -m tests.fuzz.run_atheris --target decode --runs 1000000

Each target runs as its own libFuzzer process (tests/fuzz/atheris_targets.py) with a corpus folder under
--workdir, so a later run continues where this one stopped. A crash leaves its input in the workdir and
makes the exit code non-zero. One line per target is appended to tests/fuzz/FUZZ_RECORD.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RECORD = HERE / "FUZZ_RECORD.md"
TARGETS = ("normalize", "detectors", "policy", "masking", "decode")
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


@dataclass(frozen=True)
class FuzzRun:
    """What one libFuzzer process reported."""

    target: str
    runs: int
    seconds: int
    exit_code: int
    coverage: str


def run_target(target: str, *, runs: int | None, seconds: int, workdir: Path, max_len: int = 4096,
               ) -> FuzzRun:
    """Fuzz `target` until `runs` inputs or `seconds`, whichever comes first."""
    corpus = workdir / target
    corpus.mkdir(parents=True, exist_ok=True)
    flags = [f"-max_total_time={seconds}", f"-max_len={max_len}", f"-artifact_prefix={workdir}/{target}-",
             "-print_final_stats=1"]
    if runs is not None:
        flags.append(f"-runs={runs}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.atheris_targets", target, *flags, str(corpus)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120)
    done = _DONE.search(proc.stderr)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", proc.stderr)
    return FuzzRun(target, int(done.group(1)) if done else 0, int(done.group(2)) if done else seconds,
                   proc.returncode, f"cov {cov[-1][0]} ft {cov[-1][1]}" if cov else "")


def record(runs: list[FuzzRun]) -> None:
    """Append one line per target to FUZZ_RECORD.md."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"| {stamp} | {r.target} | {r.runs} | {r.seconds} | {r.coverage} | "
             f"{'ok' if r.exit_code == 0 else f'CRASH (exit {r.exit_code})'} |" for r in runs]
    if not RECORD.exists():
        RECORD.write_text("# Fuzzing record\n\n| when | target | inputs | seconds | coverage | result |\n"
                          "|---|---|---|---|---|---|\n")
    with RECORD.open("a") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=TARGETS, action="append", help="default: all")
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--runs", type=int, help="inputs per target (default: until --seconds)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kguard-fuzz"))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for target in args.target or TARGETS:
        result = run_target(target, runs=args.runs, seconds=args.seconds, workdir=args.workdir)
        print(f"{target}: {result.runs} inputs in {result.seconds} s, {result.coverage}, "
              f"exit {result.exit_code}", flush=True)
        results.append(result)
    if not args.no_record:
        record(results)
    return 0 if all(r.exit_code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
