"""Issue 12's speed targets on real sentences, in one run: the whole guard against rule-based peers.

    python -m bench.realspeed [--model DIR] [--texts 640] [--rounds 5] [--calls 300] [--tiny]

On N real Korean sentences from ../shared/corpora (bench.quantization.sentences), each of these passes
over all N texts once per round, the variants taking turns round by round so a loaded host's drift
falls on all of them alike:
    guard            Guard.check_batch of 64 (normalize, detectors, model, policy), onnxruntime on all cores
    presidio regex   Presidio's regex PatternRecognizers alone, called directly on one thread, no NLP
                     engine (so no spaCy and no context words): the PatternRecognizers of
                     bench.baselines.presidio_recognizers (KrRrn, KrFrn, KrPassport, KrDriverLicense, KrBrn,
                     Email, CreditCard; its PhoneRecognizer uses phonenumbers' matcher, not a regex, and is
                     left out)
    presidio predefined regex
                     the same, with the PatternRecognizers Presidio's RecognizerRegistry loads by default
                     (card, e-mail, IBAN, IP, URL, US and UK numbers, ...): issue 12's baseline
    ko-pii           ko_pii.detect_all per text (rule-based, pure Python), when the package is installed
    detectors        Guard.detectors_only().check_batch of 64 (kguard's validated detectors, no model)
and one message at a time: Guard.check of one sentence (cycling through the same sentences), p50/p99 ms
of `calls` calls per round. Rows quote the median and min-max over rounds. Also the model file's size.
Writes bench/results/realspeed.json and its section of bench/RESULTS.md (`--tiny`: the bench workload's
chat turns, one short round, results under bench/.work only).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import load_workload, model_dir, percentiles, report, spread, table
from guard import Guard

BATCH = 64
Pass = Callable[[list[str]], None]  # checks every text once


def guard_pass(guard: Guard) -> Pass:
    def run(texts: list[str]) -> None:
        for i in range(0, len(texts), BATCH):
            guard.check_batch(texts[i:i + BATCH])
    return run


def presidio_regex_pass(predefined: bool = False) -> tuple[Pass, list[str]]:
    """Each regex recognizer's own analyze() on each text (what AnalyzerEngine does minus NLP and context):
    the Korean set of bench.baselines, or (`predefined`) the PatternRecognizers Presidio loads by default,
    the set issue 12's 4,650 texts/s was measured with."""
    from presidio_analyzer import PatternRecognizer, RecognizerRegistry

    from bench.baselines import offline_email_domains, presidio_recognizers

    if predefined:
        offline_email_domains()
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers()
        candidates = registry.recognizers
    else:
        candidates = presidio_recognizers()
    recognizers = [r for r in candidates if isinstance(r, PatternRecognizer)]

    def run(texts: list[str]) -> None:
        for text in texts:
            for r in recognizers:
                r.analyze(text, r.supported_entities)
    return run, [type(r).__name__ for r in recognizers]


def ko_pii_pass() -> Pass:
    from ko_pii import detect_all

    def run(texts: list[str]) -> None:
        for text in texts:
            detect_all(text)
    return run


def one_message(guard: Guard, texts: list[str], calls: int, start: int) -> dict[str, float]:
    """Per-call latency of Guard.check on `calls` sentences in turn."""
    took = []
    for i in range(calls):
        text = texts[(start + i) % len(texts)]
        started = time.perf_counter()
        guard.check(text)
        took.append(time.perf_counter() - started)
    return percentiles(took)


def measure(passes: dict[str, Pass], guard: Guard, texts: list[str], rounds: int,
            calls: int) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """texts/s of each pass and one-message p50/p99, over rounds in which every variant takes its turn."""
    for run in passes.values():
        run(texts[:BATCH])  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in passes}
    p50s, p99s = [], []
    for k in range(rounds):
        for name, run in passes.items():
            started = time.perf_counter()
            run(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
        lat = one_message(guard, texts, calls, start=k * calls)
        p50s.append(lat["p50_ms"])
        p99s.append(lat["p99_ms"])
    return ({name: spread(r) for name, r in rates.items()},
            {"p50_ms": spread(p50s), "p99_ms": spread(p99s), "calls_per_round": calls})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=300, help="Guard.check calls per round")
    ap.add_argument("--tiny", action="store_true", help="a few texts, one short round: keeps the command working")
    args = ap.parse_args(argv)
    folder = Path(model_dir(args.model, tiny=args.tiny))
    if args.tiny:
        args.rounds, args.calls = 1, 10
        texts, source = [r.text for r in load_workload("chat", BATCH)], "chat turns of bench/data"
    else:
        from bench.quantization import sentences

        texts, source = sentences(args.texts, seed=11), "real sentences from ../shared/corpora"
    guard = Guard(folder)
    passes: dict[str, Pass] = {"guard": guard_pass(guard)}
    missing: dict[str, str] = {}  # a peer that is not installed is reported, not fatal
    recognizers: dict[str, list[str]] = {}
    for name, predefined in (("presidio regex", False), ("presidio predefined regex", True)):
        try:
            passes[name], recognizers[name] = presidio_regex_pass(predefined)
        except ImportError as exc:
            missing[name] = f"not installed ({exc.name})"
    try:
        passes["ko-pii"] = ko_pii_pass()
    except ImportError as exc:
        missing["ko-pii"] = f"not installed ({exc.name})"
    passes["detectors"] = guard_pass(Guard.detectors_only())
    rates, single = measure(passes, guard, texts, args.rounds, args.calls)
    tokens = [guard._p.engine.count_tokens(t) for t in texts]  # noqa: SLF001 - bench only
    model_bytes = (folder / "model.onnx").stat().st_size
    payload: dict[str, Any] = {
        "model": str(folder), "texts": len(texts), "source": source,
        "mean_text_tokens": round(statistics.fmean(tokens), 1),
        "mean_chars": round(statistics.fmean(len(t) for t in texts), 1), "rounds": args.rounds,
        "batch": BATCH, "rates": rates, "one_message": single, "model_mb": round(model_bytes / 1e6, 1),
        "presidio_recognizers": recognizers, "not_installed": missing,
    }
    text = markdown(payload)
    print(text)
    report("realspeed", payload, text, smoke=args.tiny)


def markdown(res: dict[str, Any]) -> str:
    names = {"guard": f"Guard.check_batch({BATCH}), whole guard, all cores",
             "presidio regex": "Presidio regex recognizers only (Korean set), one thread",
             "presidio predefined regex": "Presidio's predefined regex recognizers (the issue's baseline), one thread",
             "ko-pii": "ko-pii detect_all, one thread",
             "detectors": f"Guard.detectors_only().check_batch({BATCH}), one thread"}
    guard = res["rates"]["guard"]["median"]
    rows = [[names[k], r["median"], f"{r['min']:.0f}-{r['max']:.0f}", f"{guard / r['median']:.2f}x"]
            for k, r in res["rates"].items()]
    rows += [[names[k], note, "", ""] for k, note in res["not_installed"].items()]
    one = res["one_message"]
    recognizers = "; ".join(f"{names[k]}: {', '.join(v)}" for k, v in res["presidio_recognizers"].items()) or "-"
    return "\n".join([
        f"Model `{Path(res['model']).name}` ({res['model_mb']} MB model.onnx); {res['texts']} {res['source']}, "
        f"mean {res['mean_text_tokens']} text tokens ({res['mean_chars']} characters); "
        f"{res['rounds']} rounds, variants in turn; median and min-max over rounds. Last column: the whole "
        f"guard's texts/s over the row's. Presidio recognizers, called without an NLP engine. {recognizers}.",
        "",
        table(["variant", "texts/s", "spread", "guard / this"], rows),
        "",
        f"**One message** (Guard.check of one sentence, {one['calls_per_round']} calls per round): "
        f"p50 {one['p50_ms']['median']:.2f} ms [{one['p50_ms']['min']:.2f}-{one['p50_ms']['max']:.2f}], "
        f"p99 {one['p99_ms']['median']:.2f} ms [{one['p99_ms']['min']:.2f}-{one['p99_ms']['max']:.2f}].",
    ])


if __name__ == "__main__":
    main()
