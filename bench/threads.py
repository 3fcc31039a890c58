"""Thread layout on two cores: how to spend them on onnxruntime sessions, in one run.

    python -m bench.threads [--model DIR] [--rounds 5] [--seconds 3] [--tiny]

Layouts (sessions x intra_op_num_threads, calling threads): one session on 2 threads or on 1, driven by
one caller; one 2-thread session driven by two callers; two single-thread sessions (two Guards), one
per caller. Workloads: `Guard.check_batch` of 64 real sentences from ../shared/corpora, and
`Guard.check` of one sentence. Each caller calls in a closed loop for `seconds`; the layouts take turns
for `rounds` rounds, so the host's drift falls on all of them alike; rows quote the median and min-max
texts/s over rounds and the median of each round's per-call p50/p99. Writes bench/results/threads.json
and its section of bench/RESULTS.md (`--tiny`: the bench workload's chat turns on the test suite's
tiny model, one short round, results under bench/.work only).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import load_workload, model_dir, percentiles, report, spread, table
from bench.quantization import sentences
from guard import Guard
from guard.config import EngineConfig, GuardConfig

#: (name, sessions, intra_op_num_threads per session, calling threads); the first is the reference.
LAYOUTS = (
    ("1 session x 2 threads, 1 caller", 1, 2, 1),
    ("1 session x 1 thread, 1 caller", 1, 1, 1),
    ("1 session x 2 threads, 2 callers", 1, 2, 2),
    ("2 sessions x 1 thread, 2 callers", 2, 1, 2),
)
WORKLOADS = {"check_batch(64)": 64, "check(one message)": 1}


def drive(guards: list[Guard], callers: int, texts: list[str], size: int, seconds: float) -> dict[str, Any]:
    """Closed-loop callers, caller k on guards[k % len(guards)]; texts/s and per-call latency."""
    latencies: list[list[float]] = [[] for _ in range(callers)]
    stop_at = time.perf_counter() + seconds

    def loop(k: int) -> None:
        guard, i = guards[k % len(guards)], k * size
        while time.perf_counter() < stop_at:
            chunk = [texts[(i + j) % len(texts)] for j in range(size)]
            started = time.perf_counter()
            if size == 1:
                guard.check(chunk[0])
            else:
                guard.check_batch(chunk)
            latencies[k].append(time.perf_counter() - started)
            i += callers * size

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(callers)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    flat = [x for per in latencies for x in per]
    return {"texts_per_s": len(flat) * size / (time.perf_counter() - started), "latency": percentiles(flat)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--tiny", action="store_true", help="a few texts, one short round: keeps the command working")
    args = ap.parse_args(argv)
    folder = model_dir(args.model, tiny=args.tiny)
    if args.tiny:
        args.rounds, args.seconds = 1, 0.2
        texts = [r.text for r in load_workload("chat", 64)]
    else:
        texts = sentences(args.texts, seed=7)

    def guard(threads: int) -> Guard:
        return Guard(folder, config=GuardConfig(engine=EngineConfig(model_dir=Path(folder),
                                                                    intra_op_num_threads=threads)))

    pools = {(sessions, threads): [guard(threads) for _ in range(sessions)]
             for _, sessions, threads, _ in LAYOUTS}
    for guards in pools.values():
        for g in guards:
            g.check_batch(texts[:64])  # warm-up
    rows = []
    for workload, size in WORKLOADS.items():
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in LAYOUTS}
        for _ in range(args.rounds):
            for name, sessions, threads, callers in LAYOUTS:
                runs[name].append(drive(pools[sessions, threads], callers, texts, size, args.seconds))
        for name, sessions, threads, callers in LAYOUTS:
            done = runs[name]
            rows.append({"workload": workload, "layout": name, "sessions": sessions,
                         "intra_op_num_threads": threads, "callers": callers,
                         "texts_per_s": spread([r["texts_per_s"] for r in done]),
                         "p50_ms": round(statistics.median(r["latency"]["p50_ms"] for r in done), 2),
                         "p99_ms": round(statistics.median(r["latency"]["p99_ms"] for r in done), 2)})
    base = {r["workload"]: r["texts_per_s"]["median"] for r in rows if r["layout"] == LAYOUTS[0][0]}
    text = "\n".join([
        f"Guard on `{Path(folder).name}` ({folder}); {len(texts)} real sentences from ../shared/corpora; "
        f"{args.rounds} rounds of {args.seconds:g} s per layout, layouts in turn; p50/p99 per call "
        "(a call: 64 texts or one). Last column: texts/s over the first layout of the same workload.",
        "",
        table(["workload", "layout", "texts/s", "spread", "p50 ms", "p99 ms", "vs 1 session x 2 threads"],
              [[r["workload"], r["layout"], r["texts_per_s"]["median"],
                f"{r['texts_per_s']['min']:.0f}-{r['texts_per_s']['max']:.0f}", r["p50_ms"], r["p99_ms"],
                f"{r['texts_per_s']['median'] / base[r['workload']]:.2f}x"] for r in rows]),
    ])
    print(text)
    report("threads", {"model": str(folder), "texts": len(texts), "rounds": args.rounds, "seconds": args.seconds,
                       "rows": rows}, text, smoke=args.tiny)


if __name__ == "__main__":
    main()
