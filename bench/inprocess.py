"""Scenario (a): the shipped model in-process: throughput and latency as the SDK's users run it.

Measures, on the workload of bench/data (Korean chat turns, LLM answers, documents cut into windows):
    1. engine throughput (OnnxEngine.predict) over batch sizes 1-64 on chat turns, with per-call latency
    2. the whole pipeline (Guard.check_batch: normalize, detectors, model, policy) per workload
    3. a single 32-token message (Guard.check and the engine alone): p50/p95/p99
    4. AsyncGuard with 1, 16 and 64 concurrent callers (the micro-batcher across callers)
    5. the deterministic path alone (Guard.detectors_only) and resident memory

    python -m bench.inprocess [--model DIR] [--threads N] [--long] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Row, load_workload, model_dir, percentiles, report, rss_mb, table, throughput
from guard.config import EngineConfig, GuardConfig
from guard.engine.base import EngineInput
from guard.engine.onnx import OnnxEngine
from guard.sdk import AsyncGuard, Guard
from guard.taxonomy import Role

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)


class _Sizes:
    """A BatchObserver that keeps the batch sizes the micro-batcher ran."""

    def __init__(self) -> None:
        self.sizes: Counter[int] = Counter()

    def on_enqueue(self, depth: int) -> None:
        pass

    def on_batch(self, size: int, queue_wait_s: list[float], inference_s: float) -> None:
        self.sizes[size] += 1


def engine_inputs(rows: Sequence[Row]) -> list[EngineInput]:
    return [EngineInput(r.text, Role(r.role), r.context) for r in rows]


def batch_sweep(
    engine: OnnxEngine, inputs: list[EngineInput], sizes: Sequence[int], repeats: int
) -> list[dict[str, Any]]:
    """texts/s and per-call latency of engine.predict over the inputs cut into batches of each size."""
    out = []
    for size in sizes:
        batches = [inputs[i : i + size] for i in range(0, len(inputs), size)]
        calls: list[float] = []

        def one_pass(batches: list[list[EngineInput]] = batches, calls: list[float] = calls) -> int:
            for batch in batches:
                started = time.perf_counter()
                engine.predict(batch)
                calls.append(time.perf_counter() - started)
            return sum(len(b) for b in batches)

        rate = throughput(one_pass, repeats=repeats)
        out.append({"batch_size": size, "texts_per_s": rate, "call_latency": percentiles(calls)})
    return out


def pipeline(guard: Guard, workloads: dict[str, list[Row]], batch: int, repeats: int) -> list[dict[str, Any]]:
    """Guard.check_batch throughput per workload, in texts/s and model tokens/s."""
    out = []
    for name, rows in workloads.items():
        texts = [r.text for r in rows]
        role = rows[0].role
        tokens = sum(guard._p.engine.count_tokens(t) for t in texts)  # noqa: SLF001 - bench only

        def one_pass(texts: list[str] = texts, role: str = role) -> int:
            for i in range(0, len(texts), batch):
                guard.check_batch(texts[i : i + batch], role=role)
            return len(texts)

        rate = throughput(one_pass, repeats=repeats)
        out.append(
            {
                "workload": name,
                "texts": len(texts),
                "mean_tokens": tokens / len(texts),
                "texts_per_s": rate,
                "tokens_per_s": rate["median"] * tokens / len(texts),
            }
        )
    return out


def single_message(guard: Guard, engine: OnnxEngine, rows: list[Row], calls: int) -> dict[str, Any]:
    """Latency of one ~32-token message at a time: the full Guard.check, and the engine alone."""
    picked = [r for r in rows if 28 <= engine.count_tokens(r.text) <= 36] or rows
    for r in picked[:20]:
        guard.check(r.text)
    full, bare = [], []
    for i in range(calls):
        text = picked[i % len(picked)].text
        started = time.perf_counter()
        guard.check(text)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        engine.predict([EngineInput(text)])
        bare.append(time.perf_counter() - started)
    mean_tokens = statistics.fmean(engine.count_tokens(r.text) for r in picked)
    return {
        "texts": len(picked),
        "mean_text_tokens": mean_tokens,
        "guard_check": percentiles(full),
        "engine_predict": percentiles(bare),
    }


async def concurrent(
    engine: OnnxEngine, config: GuardConfig, rows: list[Row], clients: Sequence[int], seconds: float
) -> list[dict[str, Any]]:
    """AsyncGuard under C closed-loop callers: texts/s, latency and the batch sizes it formed."""
    out = []
    for c in clients:
        sizes = _Sizes()
        async with AsyncGuard(engine=engine, config=config, observer=sizes) as guard:
            latencies: list[float] = []
            stop_at = time.perf_counter() + seconds

            async def caller(k: int, guard: AsyncGuard = guard, latencies: list[float] = latencies,
                             stop_at: float = stop_at, c: int = c) -> None:
                i = k
                while time.perf_counter() < stop_at:
                    started = time.perf_counter()
                    await guard.check(rows[i % len(rows)].text)
                    latencies.append(time.perf_counter() - started)
                    i += c

            sizes.sizes.clear()
            started = time.perf_counter()
            await asyncio.gather(*(caller(k) for k in range(c)))
            elapsed = time.perf_counter() - started
        total = sum(sizes.sizes.values())
        mean_batch = sum(s * n for s, n in sizes.sizes.items()) / max(1, total)
        out.append(
            {
                "clients": c,
                "texts_per_s": len(latencies) / elapsed,
                "latency": percentiles(latencies),
                "mean_batch": mean_batch,
                "batch_sizes": dict(sorted(sizes.sizes.items())),
            }
        )
    return out


def detectors_only(rows: list[Row], repeats: int) -> dict[str, float]:
    guard = Guard.detectors_only()
    texts = [r.text for r in rows]
    return throughput(
        lambda: sum(len(guard.check_batch(texts[i : i + 32])) for i in range(0, len(texts), 32)),
        repeats=repeats,
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: all cores)")
    parser.add_argument("--long", action="store_true", help="more texts, repeats and time (about 10 min)")
    parser.add_argument(
        "--tiny", action="store_true", help="a few texts only: keeps the command working in CI"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    n_chat, n_ans, n_doc, repeats, calls, seconds = (
        (32, 4, 1, 1, 20, 0.5)
        if args.tiny
        else (2000, 300, 60, 5, 2000, 20.0)
        if args.long
        else (1000, 120, 16, 3, 500, 6.0)
    )
    folder = model_dir(args.model, tiny=args.tiny)
    config = GuardConfig(engine=EngineConfig(model_dir=folder, intra_op_num_threads=args.threads))
    rss_before = rss_mb()
    guard = Guard(folder, config=config)
    engine: OnnxEngine = guard._p.engine  # type: ignore[assignment]  # noqa: SLF001 - bench only
    rss_loaded = rss_mb()
    chat = load_workload("chat", n_chat)
    workloads = {
        "chat": chat,
        "answers": load_workload("answers", n_ans),
        "docs": load_workload("docs", n_doc),
    }

    sweep = batch_sweep(engine, engine_inputs(chat), BATCH_SIZES, repeats)
    pipe = pipeline(guard, workloads, 32, repeats)
    single = single_message(guard, engine, chat, calls)
    conc = asyncio.run(concurrent(engine, config, chat, (1, 16, 64), seconds))
    det = detectors_only(chat, repeats)
    memory = {"before_load": rss_before, "after_load": rss_loaded, "after_run": rss_mb()}

    print_and_report(folder, engine, args, sweep, pipe, single, conc, det, memory)


def print_and_report(
    folder: Path,
    engine: OnnxEngine,
    args: argparse.Namespace,
    sweep: list[dict[str, Any]],
    pipe: list[dict[str, Any]],
    single: dict[str, Any],
    conc: list[dict[str, Any]],
    det: dict[str, float],
    memory: dict[str, Any],
) -> None:
    md = [
        f"Model: `{folder.relative_to(folder.parents[1]) if len(folder.parents) > 1 else folder}` "
        f"({engine.info.name} {engine.info.version}, {engine.info.quant}); intra-op threads "
        f"{args.threads or 'all'}. Medians of repeated passes, [min-max].",
        "",
        "**Engine over batch sizes (chat turns, OnnxEngine.predict)**",
        "",
        table(
            ["batch", "texts/s", "spread", "call p50 ms", "call p99 ms"],
            [
                [
                    s["batch_size"],
                    s["texts_per_s"]["median"],
                    f"{s['texts_per_s']['min']:.0f}-{s['texts_per_s']['max']:.0f}",
                    s["call_latency"]["p50_ms"],
                    s["call_latency"]["p99_ms"],
                ]
                for s in sweep
            ],
        ),
        "",
        "**Whole pipeline, Guard.check_batch of 32 (normalize + detectors + model + policy)**",
        "",
        table(
            ["workload", "texts", "mean tokens", "texts/s", "spread", "tokens/s"],
            [
                [
                    p["workload"],
                    p["texts"],
                    p["mean_tokens"],
                    p["texts_per_s"]["median"],
                    f"{p['texts_per_s']['min']:.0f}-{p['texts_per_s']['max']:.0f}",
                    p["tokens_per_s"],
                ]
                for p in pipe
            ],
        ),
        "",
        f"**One message at a time** ({single['texts']} chat turns of 28-36 text tokens, mean "
        f"{single['mean_text_tokens']:.1f})",
        "",
        table(
            ["call", "p50 ms", "p95 ms", "p99 ms"],
            [
                [name, single[key]["p50_ms"], single[key]["p95_ms"], single[key]["p99_ms"]]
                for name, key in (("Guard.check", "guard_check"), ("engine.predict", "engine_predict"))
            ],
        ),
        "",
        "**AsyncGuard, concurrent callers (micro-batcher, closed loop)**",
        "",
        table(
            ["callers", "texts/s", "p50 ms", "p95 ms", "p99 ms", "mean batch"],
            [
                [
                    c["clients"],
                    c["texts_per_s"],
                    c["latency"]["p50_ms"],
                    c["latency"]["p95_ms"],
                    c["latency"]["p99_ms"],
                    c["mean_batch"],
                ]
                for c in conc
            ],
        ),
        "",
        f"**Deterministic path alone** (Guard.detectors_only().check_batch of 32, chat turns, one thread): "
        f"{det['median']:,.0f} texts/s [{det['min']:,.0f}-{det['max']:,.0f}].",
        "",
        f"**Memory (RSS)**: {memory['before_load']['rss_mb']:.0f} MB before loading, "
        f"{memory['after_load']['rss_mb']:.0f} MB with the model loaded, "
        f"{memory['after_run']['rss_mb']:.0f} MB after the run "
        f"(peak {memory['after_run']['peak_mb']:.0f} MB).",
    ]
    text = "\n".join(md)
    print(text)
    report(
        "inprocess",
        {
            "model": str(folder),
            "model_info": {
                "name": engine.info.name,
                "version": engine.info.version,
                "quant": engine.info.quant,
            },
            "threads": args.threads,
            "batch_sweep": sweep,
            "pipeline": pipe,
            "single_message": single,
            "concurrent": conc,
            "detectors_only": det,
            "memory": memory,
            "size": "tiny" if args.tiny else "long" if args.long else "default",
        },
        text,
        smoke=args.tiny,
    )


if __name__ == "__main__":
    main()
