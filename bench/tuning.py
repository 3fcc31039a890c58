"""Scenario (e): engine and batcher settings, before/after, in one run (what guard/engine/tuning.py keeps).

session    onnxruntime defaults against SkipLayerNormFusion disabled, and spinning off, through the
           real OnnxEngine: chat turns at batch 32, one 32-token message, AsyncGuard with 64 callers
buckets    EngineConfig.bucket_width_ratio: one padded call per batch against length buckets
threads    unbatched traffic: one session on all cores against one single-thread session per core,
           each driven by its own thread (onnxruntime releases the GIL in run)
batcher    AsyncGuard max_batch_size x max_wait_s under 16 and 64 closed-loop callers
concurrent AsyncGuard with max_concurrent_batches 1 and 2 x intra_op_num_threads 0 (all cores) and 1,
           under 1, 16 and 64 closed-loop callers (two batches at once on single-thread runs)

python -m bench.tuning [--model DIR] [--seconds S] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import closed_loop_checks, load_workload, model_dir, percentiles, report, spread, table, throughput
from guard.config import BatcherConfig, EngineConfig, GuardConfig
from guard.engine.base import EngineInput
from guard.engine.onnx import OnnxEngine
from guard.engine.tuning import SessionTuning
from guard.sdk import AsyncGuard

VARIANTS = {
    "onnxruntime defaults (current OnnxEngine)": SessionTuning.onnxruntime_defaults(),
    "SkipLayerNormFusion off": SessionTuning(),
    "SkipLayerNormFusion off, no spinning": SessionTuning.shared_cores(),
}
BUCKETS = {"off (one call per batch)": 1e9, "1.1": 1.1, "1.2 (default)": 1.2, "1.5": 1.5}
BATCHER = ((16, 0.002), (32, 0.002), (64, 0.002), (32, 0.0), (32, 0.0005), (32, 0.005))
#: (max_concurrent_batches, intra_op_num_threads); the first is the reference of the concurrency table.
CONCURRENCY = ((1, 0), (1, 1), (2, 0), (2, 1))
CONCURRENCY_CALLERS = (1, 16, 64)


def tuned_engine(folder: Path, tuning: SessionTuning, **engine: Any) -> OnnxEngine:
    """The real engine with its session built under `tuning` (EngineConfig's session options); one
    session unless `sessions` is given (bench/threads.py measures the pools)."""
    engine = OnnxEngine(EngineConfig(model_dir=folder, providers=("CPUExecutionProvider",),
                                     **tuning.engine_options(), **{"sessions": 1, **engine}))
    engine.warmup()
    return engine


async def callers(
    engine: OnnxEngine, texts: list[str], n: int, seconds: float, batcher: BatcherConfig | None = None
) -> dict[str, Any]:
    config = GuardConfig(batcher=batcher or BatcherConfig())
    async with AsyncGuard(engine=engine, config=config) as guard:
        return await closed_loop_checks(guard, texts, n, seconds)


def session_variants(
    folder: Path, texts: list[str], singles: list[str], repeats: int, seconds: float
) -> dict[str, Any]:
    out = {}
    inputs = [EngineInput(t) for t in texts]
    batches = [inputs[i : i + 32] for i in range(0, len(inputs), 32)]
    for name, tuning in VARIANTS.items():
        engine = tuned_engine(folder, tuning)
        rate = throughput(lambda engine=engine: sum(len(engine.predict(b)) for b in batches), repeats=repeats)
        lat = []
        for k in range(300 if repeats > 1 else 20):
            started = time.perf_counter()
            engine.predict([EngineInput(singles[k % len(singles)])])
            lat.append(time.perf_counter() - started)
        conc = asyncio.run(callers(engine, texts, 64, seconds))
        out[name] = {"batch32": rate, "single": percentiles(lat), "asyncguard64": conc}
    return out


def bucket_variants(folder: Path, texts: list[str], repeats: int) -> dict[str, Any]:
    """Chat turns at batch 32 under each bucket_width_ratio; 'off' pads each batch to its longest."""
    inputs = [EngineInput(t) for t in texts]
    batches = [inputs[i : i + 32] for i in range(0, len(inputs), 32)]
    out = {}
    for name, ratio in BUCKETS.items():
        engine = tuned_engine(folder, SessionTuning(), bucket_width_ratio=ratio)
        out[name] = throughput(lambda engine=engine: sum(len(engine.predict(b)) for b in batches), repeats=repeats)
    return out


def model_variants(folder: Path, alts: list[str], texts: list[str], repeats: int) -> dict[str, Any]:
    """Other exports of the same model (e.g. offline fusion, FastGelu) against it, under the tuned session:
    texts/s at batch 32, and the largest category-probability difference on the same texts."""
    inputs = [EngineInput(t) for t in texts]
    batches = [inputs[i : i + 32] for i in range(0, len(inputs), 32)]
    probe = inputs[:64]
    out: dict[str, Any] = {}
    reference = None
    for path in [str(folder), *alts]:
        engine = tuned_engine(Path(path), SessionTuning())
        rate = throughput(lambda engine=engine: sum(len(engine.predict(b)) for b in batches), repeats=repeats)
        scores = [o.scores for o in engine.predict(probe)]
        reference = reference or scores
        diff = max(abs(a[c] - b[c]) for a, b in zip(reference, scores, strict=True) for c in a)
        out[Path(path).name] = {"batch32": rate, "max_score_diff": diff}
    return out


def unbatched_threads(folder: Path, singles: list[str], seconds: float) -> dict[str, Any]:
    """texts/s and latency of batch-1 calls from `callers` threads into one OnnxEngine whose session is
    one all-core session, or a pool of one single-thread session per core (EngineConfig.sessions)."""
    cores = len(os.sched_getaffinity(0))
    out = {}
    for name, pool, callers_n in (
        ("1 session on all cores, 1 calling thread", False, 1),
        (f"1 session on all cores, {cores} calling threads", False, cores),
        (f"SessionPool of {cores} single-thread sessions, {cores} calling threads", True, cores),
    ):
        # The pool: EngineConfig.sessions single-thread sessions, no solo session (intra_op 1).
        engine = (tuned_engine(folder, SessionTuning(intra_op_num_threads=1), sessions=cores) if pool
                  else tuned_engine(folder, SessionTuning()))
        latencies: list[list[float]] = [[] for _ in range(callers_n)]
        stop_at = time.perf_counter() + seconds

        def drive(k: int, engine: OnnxEngine = engine, latencies: list[list[float]] = latencies,
                  stop_at: float = stop_at, n: int = callers_n) -> None:
            i = k
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                engine.predict([EngineInput(singles[i % len(singles)])])
                latencies[k].append(time.perf_counter() - started)
                i += n

        workers = [threading.Thread(target=drive, args=(k,)) for k in range(callers_n)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        flat = [x for per in latencies for x in per]
        out[name] = {"texts_per_s": len(flat) / (time.perf_counter() - started), "latency": percentiles(flat)}
    return out


def batcher_grid(folder: Path, texts: list[str], seconds: float) -> list[dict[str, Any]]:
    engine = tuned_engine(folder, SessionTuning())
    rows = []
    for size, wait in BATCHER:
        cfg = replace(BatcherConfig(), max_batch_size=size, max_wait_s=wait)
        for n in (16, 64):
            rows.append(
                {
                    "max_batch_size": size,
                    "max_wait_ms": wait * 1000,
                    "callers": n,
                    **asyncio.run(callers(engine, texts, n, seconds, cfg)),
                }
            )
    return rows


def concurrent_batches(folder: Path, texts: list[str], seconds: float, rounds: int) -> list[dict[str, Any]]:
    """AsyncGuard under closed-loop callers for each (batches at once, session threads). For each number
    of callers the settings take turns for `rounds` rounds, so the host's drift (often +-30% within
    minutes here) falls on all of them alike; each row quotes the medians over its rounds."""
    engines = {intra: tuned_engine(folder, SessionTuning(intra_op_num_threads=intra))
               for intra in sorted({intra for _, intra in CONCURRENCY})}
    rows = []
    for n in CONCURRENCY_CALLERS:
        runs: dict[tuple[int, int], list[dict[str, Any]]] = {combo: [] for combo in CONCURRENCY}
        for _ in range(rounds):
            for batches, intra in CONCURRENCY:
                cfg = replace(BatcherConfig(), max_concurrent_batches=batches)
                runs[batches, intra].append(asyncio.run(callers(engines[intra], texts, n, seconds, cfg)))
        for (batches, intra), done in runs.items():
            rows.append({"max_concurrent_batches": batches, "intra_op_num_threads": intra, "callers": n,
                         "texts_per_s": spread([r["texts_per_s"] for r in done]),
                         "p50_ms": statistics.median(r["latency"]["p50_ms"] for r in done),
                         "p99_ms": statistics.median(r["latency"]["p99_ms"] for r in done)})
    return rows


def concurrency_table(rows: list[dict[str, Any]]) -> str:
    base = {r["callers"]: r["texts_per_s"]["median"] for r in rows
            if (r["max_concurrent_batches"], r["intra_op_num_threads"]) == CONCURRENCY[0]}
    return table(
        ["callers", "batches at once", "intra_op_num_threads", "texts/s", "spread", "p50 ms", "p99 ms",
         "vs 1 batch, all cores"],
        [[r["callers"], r["max_concurrent_batches"], r["intra_op_num_threads"] or "0 (all cores)",
          r["texts_per_s"]["median"], f"{r['texts_per_s']['min']:.0f}-{r['texts_per_s']['max']:.0f}",
          r["p50_ms"], r["p99_ms"], f"{r['texts_per_s']['median'] / base[r['callers']]:.2f}x"]
         for r in rows],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--seconds", type=float, help="seconds per concurrent run (default 4)")
    parser.add_argument("--alt-model", action="append", default=[], help="another export to compare")
    parser.add_argument("--tiny", action="store_true", help="a few texts only: keeps the command working")
    parser.add_argument("--only", choices=["concurrent"], help="run one section only (no report written)")
    args = parser.parse_args(argv)
    folder = model_dir(args.model, tiny=args.tiny)
    seconds = args.seconds or (0.3 if args.tiny else 4.0)
    repeats = 1 if args.tiny else 3
    chat = load_workload("chat", 32 if args.tiny else 1000)
    texts = [r.text for r in chat]
    singles = [t for t in texts if 60 <= len(t) <= 80] or texts
    if args.only == "concurrent":  # a quick look; the report needs the whole run
        print(concurrency_table(concurrent_batches(folder, texts, seconds, repeats)))
        return
    sessions = session_variants(folder, texts, singles, repeats, seconds)
    buckets = bucket_variants(folder, texts, repeats)
    unbatched = unbatched_threads(folder, singles, seconds)
    grid = batcher_grid(folder, texts, seconds)
    concurrency = concurrent_batches(folder, texts, seconds, repeats)
    variants = model_variants(folder, args.alt_model, texts, repeats) if args.alt_model else {}
    base = sessions["onnxruntime defaults (current OnnxEngine)"]
    md = [
        "**Session settings** (chat turns; last column: batch-32 rate over the current engine's)",
        "",
        table(
            [
                "session",
                "batch 32 texts/s",
                "spread",
                "1 message p50 ms",
                "p99 ms",
                "AsyncGuard 64 texts/s",
                "vs current",
            ],
            [
                [
                    n,
                    v["batch32"]["median"],
                    f"{v['batch32']['min']:.0f}-{v['batch32']['max']:.0f}",
                    v["single"]["p50_ms"],
                    v["single"]["p99_ms"],
                    v["asyncguard64"]["texts_per_s"],
                    f"{v['batch32']['median'] / base['batch32']['median']:.2f}x",
                ]
                for n, v in sessions.items()
            ],
        ),
        "",
        "**Length buckets** (OnnxEngine.predict on batches of 32 chat turns; last column: over 'off')",
        "",
        table(
            ["bucket_width_ratio", "texts/s", "spread", "vs off"],
            [[n, v["median"], f"{v['min']:.0f}-{v['max']:.0f}",
              f"{v['median'] / buckets['off (one call per batch)']['median']:.2f}x"] for n, v in buckets.items()],
        ),
        "",
        "**Unbatched traffic** (one message per call into one OnnxEngine, SkipLayerNormFusion off)",
        "",
        table(
            ["session(s)", "texts/s", "p50 ms", "p99 ms"],
            [[n, v["texts_per_s"], v["latency"]["p50_ms"], v["latency"]["p99_ms"]]
             for n, v in unbatched.items()],
        ),
        "",
        "**Batcher limits** (AsyncGuard, SkipLayerNormFusion off, closed-loop callers)",
        "",
        table(
            ["max batch", "max wait ms", "callers", "texts/s", "p50 ms", "p99 ms"],
            [
                [
                    g["max_batch_size"],
                    g["max_wait_ms"],
                    g["callers"],
                    g["texts_per_s"],
                    g["latency"]["p50_ms"],
                    g["latency"]["p99_ms"],
                ]
                for g in grid
            ],
        ),
        "",
        "**Batches at once** (AsyncGuard `max_concurrent_batches` x session `intra_op_num_threads`, "
        "SkipLayerNormFusion off, closed-loop callers, the settings in turn, medians of rounds; last column: "
        "texts/s over 1 batch at a time on all cores)",
        "",
        concurrency_table(concurrency),
    ]
    if variants:
        md += ["", "**Exports of the same model** (SkipLayerNormFusion off; score diff: largest category "
               "probability difference from the first row on 64 chat turns)", "",
               table(["model", "batch 32 texts/s", "spread", "max score diff"],
                     [[n, v["batch32"]["median"], f"{v['batch32']['min']:.0f}-{v['batch32']['max']:.0f}",
                       f"{v['max_score_diff']:.4f}"] for n, v in variants.items()])]
    text = "\n".join(md)
    print(text)
    report(
        "tuning",
        {"model": str(folder), "sessions": sessions, "buckets": buckets, "unbatched": unbatched, "batcher": grid,
         "concurrent_batches": concurrency, "exports": variants},
        text,
        smoke=args.tiny,
    )


if __name__ == "__main__":
    main()
