"""Soak and overload run of the real sidecar on loopback: throughput, latency percentiles, the server's
memory over time, and the shed rate when the offered load exceeds capacity.

    .venv/bin/python -m bench.soak --steady-s 480 --overload-s 90          # ~10 minutes, writes the record
    .venv/bin/python -m bench.soak --tiny --steady-s 5 --overload-s 3 --no-write   # a smoke run

The server is `kguard serve` in its own process on 127.0.0.1 (its RSS read from /proc). Phase 1, steady:
`--concurrency` closed-loop callers send the chat workload back to back for `--steady-s`, while the
server's RSS is sampled every `--sample-s`. Phase 2, overload: an open loop offers `--overload-factor`
times the steady throughput for `--overload-s`, against a small queue (`--max-queue`); the server must
shed the excess with RESOURCE_EXHAUSTED at once instead of queueing it, and keep answering the rest.
The record goes to bench/SOAK_RESULTS.md and bench/results/soak.json. Bounded in time and count, loopback
only. tests/hardening/test_load_soak.py runs the same code at test size; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bench.common import BENCH, RESULTS, load_workload, machine, machine_line, model_dir, table
from tests.support.soak import SoakConfig, run_soak

SOAK_MD = BENCH / "SOAK_RESULTS.md"


def markdown(result: dict[str, Any], info: dict[str, Any], command: str) -> str:
    s, o, r = result["steady"], result["overload"], result["recovery"]
    mem, c = result["memory"], result["config"]
    samples = mem["samples"]
    step = max(1, len(samples) // 12)
    rows = [["steady", s["seconds"], s["offered"], s["ok"], s["shed"], sum(s["errors"].values()),
             s["throughput_rps"], s["latency"]["p50_ms"], s["latency"]["p95_ms"], s["latency"]["p99_ms"]],
            ["overload", o["seconds"], o["offered"], o["ok"], o["shed"], sum(o["errors"].values()),
             o["throughput_rps"], o["latency"]["p50_ms"], o["latency"]["p95_ms"], o["latency"]["p99_ms"]],
            ["recovery", r["seconds"], r["offered"], r["ok"], r["shed"], sum(r["errors"].values()),
             r["throughput_rps"], r["latency"]["p50_ms"], r["latency"]["p95_ms"], r["latency"]["p99_ms"]]]
    return "\n".join([
        "# Soak and overload record", "",
        f"Command: `{command}`", "", machine_line(info), "",
        f"Model: `{c['model_dir']}`; {c['concurrency']} closed-loop callers, queue {c['max_queue']}, "
        f"batch {c['max_batch_size']}; loopback only.", "",
        table(["phase", "s", "offered", "ok", "shed", "errors", "ok/s", "p50 ms", "p95 ms", "p99 ms"], rows),
        "", f"Overload offered {o['offered_rps']} req/s ({c['overload_factor']}x the steady throughput): "
        f"shed rate {100 * o['shed_rate']:.1f}% (RESOURCE_EXHAUSTED), errors {o['errors'] or 'none'}.",
        "", "Server memory (RSS, MB) over the steady phase:", "",
        table(["t (s)", "RSS MB"], [list(p) for p in samples[::step]] + [list(p) for p in samples[-1:]]),
        "", f"RSS growth after warm-up: {mem['slope_mb_per_min']} MB/min (least squares); at the end "
        f"{mem['end_mb']} MB.", "",
        f"Server side: {json.dumps(result['server'])}; exit code after SIGTERM {result['server_exit_code']}; "
        f"tracebacks on its stderr: {result['server_tracebacks']}.", ""])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the shipped model, else the bench export)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model (a smoke run)")
    p.add_argument("--steady-s", type=float, default=480.0)
    p.add_argument("--overload-s", type=float, default=90.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--overload-factor", type=float, default=3.0)
    p.add_argument("--max-queue", type=int, default=64)
    p.add_argument("--sample-s", type=float, default=10.0)
    p.add_argument("--no-write", action="store_true", help="print only; keep the record")
    args = p.parse_args(argv)
    cfg = SoakConfig(model_dir=model_dir(args.model, tiny=args.tiny), steady_s=args.steady_s,
                     overload_s=args.overload_s, concurrency=args.concurrency,
                     overload_factor=args.overload_factor, max_queue=args.max_queue, sample_s=args.sample_s)
    result = asyncio.run(run_soak(cfg, [(r.text, r.role) for r in load_workload("chat")]))
    info = machine()
    command = "python -m bench.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(result, info, command)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "soak.json").write_text(json.dumps({"result": result, "machine": info}, indent=2))
        SOAK_MD.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
