"""What one model folder costs against another, in one run: a candidate against the shipped model.

    python -m bench.models --model DIR [--baseline models/kguard-ko-small] [--texts 640] [--docs 40]
                           [--rounds 5] [--calls 200] [--tiny]

The two whole guards take turns round by round, so a loaded host's drift falls on both alike. Per round
each does: `Guard.check_batch` of 64 over N real Korean sentences from ../shared/corpora
(bench.quantization.sentences), `Guard.check` of one sentence `calls` times (p50), and `Guard.check`
of each of `docs` long documents of real sentences (bench.longdocs.documents, 1,500 characters: the
windows and the sentence check). Rows quote the median and min-max over rounds and the ratio to the
baseline. Writes bench/results/models.json and its section of bench/RESULTS.md (`--tiny`: the bench
workload's chat turns, the model against itself, one short round, results under bench/.work only).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import load_workload, model_dir, report, spread, table
from bench.longdocs import documents
from guard import Guard

#: What is measured per round, as (name, unit).
MEASURES = (("sentences", "texts/s"), ("one message", "p50 ms"), ("long documents", "documents/s"))


def one_round(guard: Guard, texts: list[str], docs: list[str], calls: int) -> dict[str, float]:
    def rate(work: Callable[[], None], n: int) -> float:
        started = time.perf_counter()
        work()
        return n / (time.perf_counter() - started)

    def batches() -> None:
        for k in range(0, len(texts), 64):
            guard.check_batch(texts[k:k + 64])

    def long_docs() -> None:
        for doc in docs:
            guard.check(doc)

    single = []
    for i in range(calls):
        started = time.perf_counter()
        guard.check(texts[i % len(texts)])
        single.append((time.perf_counter() - started) * 1000)
    return {"sentences": rate(batches, len(texts)), "one message": statistics.median(single),
            "long documents": rate(long_docs, len(docs))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="the candidate model folder (default: the shipped model)")
    ap.add_argument("--baseline", help="the model folder to compare with (default: the shipped model)")
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--docs", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--tiny", action="store_true", help="a few texts, one round: keeps the command working")
    args = ap.parse_args(argv)
    folders = {"baseline": model_dir(args.baseline, tiny=args.tiny), "model": model_dir(args.model, tiny=args.tiny)}
    if args.tiny:
        args.rounds, args.texts, args.docs, args.calls = 1, 8, 2, 4
        texts, source = [r.text for r in load_workload("chat")], "chat turns of bench/data"
        chars = 200
        docs = documents(texts, chars, args.docs)
    else:
        from bench.quantization import sentences

        texts, source = sentences(args.texts + args.docs * 40, seed=19), "real sentences from ../shared/corpora"
        chars = 1500
        docs = documents(texts[args.texts:], chars, args.docs)
    texts = texts[:args.texts]
    guards = {name: Guard(folder) for name, folder in folders.items()}
    for g in guards.values():
        one_round(g, texts[:4], docs[:1], 4)  # warm-up
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in guards}
    for r in range(args.rounds):
        for name in (list(guards) if r % 2 == 0 else list(guards)[::-1]):
            runs[name].append(one_round(guards[name], texts, docs, args.calls))
    payload: dict[str, Any] = {
        "folders": {name: str(f) for name, f in folders.items()},
        "versions": {name: g.info.version for name, g in guards.items()},
        "texts": len(texts), "docs": len(docs), "chars": chars, "calls": args.calls, "rounds": args.rounds,
        "source": source,
        "figures": {name: {m: spread([run[m] for run in rs]) for m, _ in MEASURES} for name, rs in runs.items()},
    }
    text = markdown(payload)
    print(text)
    report("models", payload, text, smoke=args.tiny)


def markdown(res: dict[str, Any]) -> str:
    base = res["figures"]["baseline"]
    rows = []
    for name, figures in res["figures"].items():
        label = f"{name}: `{Path(res['folders'][name]).name}` {res['versions'][name]}"
        rows.append([label, *(f"{figures[m]['median']:.2f} ({figures[m]['min']:.2f}-{figures[m]['max']:.2f})"
                              f", {figures[m]['median'] / base[m]['median']:.2f}x" for m, _ in MEASURES)])
    return "\n".join([
        f"{res['texts']} {res['source']} (`check_batch` of 64), `check` of one of them {res['calls']} times, "
        f"{res['docs']} documents of at least {res['chars']:,} characters of the same (`check` each); the two guards "
        f"take turns, {res['rounds']} rounds; median (min-max) over rounds, then the ratio to the baseline.",
        "",
        table(["model", *(f"{m} ({unit})" for m, unit in MEASURES)], rows),
    ])


if __name__ == "__main__":
    main()
