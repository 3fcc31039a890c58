"""Where the time of `Guard.check_batch` goes, phase by phase, on real Korean sentences.

    python -m bench.pipeline_profile [--model models/kguard-ko-small] [--texts 640] [--repeats 5]

Phases, timed separately over the same texts (batches of 64, medians of repeats, per text):
normalize; detectors; tokenize (windows); padding; the length buckets with their onnxruntime runs;
engine.predict (tokenize, runs, merge of scores and span decoding); fusion under the policy (the
verdict); the whole check_batch; and the detectors-only guard for comparison.
Writes bench/results/pipeline_profile.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import report
from bench.quantization import sentences
from guard import Guard
from guard._pipeline import Pipeline
from guard.engine.base import EngineInput
from guard.engine.tokenize import pad_batch
from guard.normalize import normalize


def timed(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    guard = Guard(args.model)
    pipe = Pipeline(args.model, None, None, None)  # the phases guard._pipeline names, one by one
    engine = pipe.engine
    rules = pipe.policy.resolve("user")
    texts = sentences(args.texts, seed=9)
    batches = [texts[k:k + 64] for k in range(0, len(texts), 64)]
    guard.check_batch(batches[0])  # warm-up
    norm = [[normalize(t) for t in b] for b in batches]
    items = [[EngineInput(n.text) for n in b] for b in norm]
    windows = [[w for it in b for w in engine.encoder.windows(it)] for b in items]
    outputs = [engine.predict(b) for b in items]
    prepared = [[pipe.prepare(pipe.judge(t, None, "user", None)) for t in b] for b in batches]
    n = len(texts)
    phases = {
        "normalize": lambda: [normalize(t) for b in batches for t in b],
        "detectors": lambda: [pipe.detectors.analyze(x.text) for b in norm for x in b],
        "tokenize (windows)": lambda: [engine.encoder.windows(i) for b in items for i in b],
        "padding (one pad per batch)": lambda: [pad_batch(ws, engine.encoder.pad_id) for ws in windows],
        "buckets, padding and session runs": lambda: [engine._run_sorted(ws) for ws in windows],
        "engine.predict (tokenize + session + merge)": lambda: [engine.predict(b) for b in items],
        "fusion and verdict": lambda: [pipe.finish(p, o, rules) for pb, ob in zip(prepared, outputs, strict=True)
                                       for p, o in zip(pb, ob, strict=True)],
        "Guard.check_batch (all)": lambda: [guard.check_batch(b) for b in batches],
        "Guard.detectors_only().check_batch": lambda: [Guard.detectors_only().check_batch(b) for b in batches],
    }
    figures = {name: timed(fn, args.repeats) / n * 1e6 for name, fn in phases.items()}
    whole = figures["Guard.check_batch (all)"]
    lines = [f"{n} real sentences from ../shared/corpora, batches of 64; microseconds per text (median of "
             f"{args.repeats}).", "", "| phase | µs per text | share of check_batch | texts/s |", "|---|---|---|---|"]
    for name, us in figures.items():
        lines.append(f"| {name} | {us:.0f} | {100 * us / whole:.0f}% | {1e6 / us:.0f} |")
    for name, us in figures.items():
        print(f"{name:45s} {us:8.0f} µs/text  {1e6 / us:8.0f} texts/s")
    report("pipeline_profile", {"texts": n, "us_per_text": figures}, "\n".join(lines))


if __name__ == "__main__":
    main()
