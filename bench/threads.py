"""Thread layout on two cores: how to spend them on onnxruntime sessions, in one run.

    python -m bench.threads [--model DIR] [--rounds 5] [--seconds 3] [--tiny]

Layouts (sessions x intra_op_num_threads, calling threads): one session on 2 threads or on 1, driven by
one caller (sessions = 1, the layout before pools); one 2-thread session driven by two callers; two
single-thread sessions (two Guards), one per caller; the engine's session pool (EngineConfig.sessions 2:
a call's length buckets in parallel on two single-thread sessions) with its 2-thread solo session for
calls of one bucket (the default), without it (intra_op_num_threads 1), and driven by two callers.
Workloads: `Guard.check_batch` of 64 real sentences from ../shared/corpora, and `Guard.check` of one
sentence. Each caller calls in a closed loop for `seconds`; the layouts take turns for `rounds` rounds,
so the host's drift falls on all of them alike; rows quote the median and min-max texts/s over rounds
and the median of each round's per-call p50/p99. A second table: AsyncGuard (the micro-batcher) under 16
closed-loop callers of one message, `max_concurrent_batches` 1 and 2, one session against the pool, in
turn the same way. Resident memory: each layout's Guards loaded and warmed in a fresh process.
Writes bench/results/threads.json and its section of bench/RESULTS.md (`--tiny`: the bench workload's
chat turns on the test suite's tiny model, one short round, results under bench/.work only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, closed_loop_checks, load_workload, model_dir, percentiles, report, rss_mb, spread, table
from bench.quantization import sentences
from guard import AsyncGuard, Guard
from guard.config import BatcherConfig, EngineConfig, GuardConfig

#: (name, Guards, EngineConfig.sessions, intra_op_num_threads, calling threads); the first is the
#: reference (the engine's layout before pools).
LAYOUTS = (
    ("1 session x 2 threads, 1 caller", 1, 1, 2, 1),
    ("1 session x 1 thread, 1 caller", 1, 1, 1, 1),
    ("1 session x 2 threads, 2 callers", 1, 1, 2, 2),
    ("2 Guards of 1 session x 1 thread, 2 callers", 2, 1, 1, 2),
    ("pool 2 x 1 thread + solo 2 threads, 1 caller (default)", 1, 2, 2, 1),
    ("pool 2 x 1 thread, no solo, 1 caller", 1, 2, 1, 1),
    ("pool 2 x 1 thread + solo 2 threads, 2 callers", 1, 2, 2, 2),
    ("pool 2 x 1 thread, no solo, 2 callers", 1, 2, 1, 2),
)
WORKLOADS = {"check_batch(64)": 64, "check(one message)": 1}
#: AsyncGuard settings: (name, max_concurrent_batches, sessions); intra_op_num_threads 0 (all cores), so
#: one session with 2 batches gets 1 thread per run (guard/_pipeline.py); the first is the reference.
BATCHER_LAYOUTS = (
    ("1 batch at once, 1 session x 2 threads", 1, 1),
    ("2 batches at once, 1 session x 1 thread", 2, 1),
    ("1 batch at once, pool 2 x 1 + solo", 1, 2),
    ("2 batches at once, pool 2 x 1 + solo", 2, 2),
)
ASYNC_CALLERS = 16


def _config(folder: Path, sessions: int, threads: int, batches: int = 1) -> GuardConfig:
    return GuardConfig(engine=EngineConfig(model_dir=folder, sessions=sessions, intra_op_num_threads=threads),
                       batcher=BatcherConfig(max_concurrent_batches=batches))


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


async def batcher_rounds(folder: Path, texts: list[str], rounds: int, seconds: float) -> list[dict[str, Any]]:
    guards = {name: AsyncGuard(folder, config=_config(folder, sessions, 0, batches))
              for name, batches, sessions in BATCHER_LAYOUTS}
    for g in guards.values():
        await g.start()
        await asyncio.gather(*(g.check(t) for t in texts[:64]))  # warm-up
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in guards}
    try:
        for _ in range(rounds):
            for name, g in guards.items():
                runs[name].append(await closed_loop_checks(g, texts, ASYNC_CALLERS, seconds))
    finally:
        for g in guards.values():
            await g.stop()
    return [{"layout": name, "max_concurrent_batches": batches, "sessions": sessions, **_summary(runs[name])}
            for name, batches, sessions in BATCHER_LAYOUTS]


def _summary(done: list[dict[str, Any]]) -> dict[str, Any]:
    return {"texts_per_s": spread([r["texts_per_s"] for r in done]),
            "p50_ms": round(statistics.median(r["latency"]["p50_ms"] for r in done), 2),
            "p99_ms": round(statistics.median(r["latency"]["p99_ms"] for r in done), 2)}


def resident_mb(folder: Path, guards: int, sessions: int, threads: int) -> dict[str, float]:
    """RSS of a fresh process holding the layout's Guards, each warmed by a check_batch of 64."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from bench.threads import _config\nfrom bench.common import rss_mb\nfrom guard import Guard\n"
        f"folder = Path({str(folder)!r})\n"
        f"gs = [Guard(folder, config=_config(folder, {sessions}, {threads})) for _ in range({guards})]\n"
        "for g in gs:\n    g.check_batch(['제 주민번호는 900101-1234568이에요 ' * (1 + i % 6) for i in range(64)])\n"
        "print(json.dumps(rss_mb()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--tiny", action="store_true", help="a few texts, one short round: keeps the command working")
    args = ap.parse_args(argv)
    folder = Path(model_dir(args.model, tiny=args.tiny))
    if args.tiny:
        args.rounds, args.seconds = 1, 0.2
        texts = [r.text for r in load_workload("chat", 64)]
    else:
        texts = sentences(args.texts, seed=7)

    keys = {(guards, sessions, threads) for _, guards, sessions, threads, _ in LAYOUTS}
    memory = {key: resident_mb(folder, *key) for key in sorted(keys)}
    pools = {key: [Guard(folder, config=_config(folder, key[1], key[2])) for _ in range(key[0])] for key in keys}
    for guards in pools.values():
        for g in guards:
            g.check_batch(texts[:64])  # warm-up
    rows = []
    for workload, size in WORKLOADS.items():
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in LAYOUTS}
        for _ in range(args.rounds):
            for name, guards, sessions, threads, callers in LAYOUTS:
                runs[name].append(drive(pools[guards, sessions, threads], callers, texts, size, args.seconds))
        for name, guards, sessions, threads, callers in LAYOUTS:
            rows.append({"workload": workload, "layout": name, "guards": guards, "sessions": sessions,
                         "intra_op_num_threads": threads, "callers": callers,
                         "rss_mb": memory[guards, sessions, threads]["rss_mb"], **_summary(runs[name])})
    del pools
    batcher = asyncio.run(batcher_rounds(folder, texts, args.rounds, args.seconds))
    print(text := _markdown(folder, texts, args, rows, batcher))
    report("threads", {"model": str(folder), "texts": len(texts), "rounds": args.rounds, "seconds": args.seconds,
                       "rows": rows, "batcher": batcher, "bench_rss": rss_mb()}, text, smoke=args.tiny)


def _markdown(folder: Path, texts: list[str], args: argparse.Namespace, rows: list[dict[str, Any]],
              batcher: list[dict[str, Any]]) -> str:
    base = {r["workload"]: r["texts_per_s"]["median"] for r in rows if r["layout"] == LAYOUTS[0][0]}
    async_base = batcher[0]["texts_per_s"]["median"]
    return "\n".join([
        f"Guard on `{folder.name}` ({folder}); {len(texts)} real sentences from ../shared/corpora; "
        f"{args.rounds} rounds of {args.seconds:g} s per layout, layouts in turn; p50/p99 per call "
        "(a call: 64 texts or one). Last column: texts/s over the first layout (one session on 2 threads, "
        "the layout before pools) of the same workload. RSS: a fresh process holding the layout's Guards "
        "after a warm-up batch.",
        "",
        table(["workload", "layout", "texts/s", "spread", "p50 ms", "p99 ms", "RSS MB", "vs 1 session x 2 threads"],
              [[r["workload"], r["layout"], r["texts_per_s"]["median"],
                f"{r['texts_per_s']['min']:.0f}-{r['texts_per_s']['max']:.0f}", r["p50_ms"], r["p99_ms"],
                r["rss_mb"], f"{r['texts_per_s']['median'] / base[r['workload']]:.2f}x"] for r in rows]),
        "",
        f"**Micro-batcher** (AsyncGuard, {ASYNC_CALLERS} closed-loop callers of one message, intra_op_num_threads "
        "0, the settings in turn; last column: texts/s over the first)",
        "",
        table(["setting", "texts/s", "spread", "p50 ms", "p99 ms", "vs first"],
              [[r["layout"], r["texts_per_s"]["median"],
                f"{r['texts_per_s']['min']:.0f}-{r['texts_per_s']['max']:.0f}", r["p50_ms"], r["p99_ms"],
                f"{r['texts_per_s']['median'] / async_base:.2f}x"] for r in batcher]),
    ])


if __name__ == "__main__":
    main()
