"""A cascade's first stage (issue 12, item 3): can a cheap gate clear benign text before the model?

    python -m training.cascade                     # train the gates (training/work/cascade/*.npz)
    python -m bench.cascade [--model models/kguard-ko-small] [--texts 640] [--repeats 3]
    python -m bench.cascade --tiny                 # smoke run: bench/data chat rows, a few epochs

The bar (issue 12): a gate may clear text only if at least 99.5% of the dev set's unsafe rows pass it
to the model. For each candidate (training.cascade: `ngram`, `ngram+signals`, `rules`) the threshold is
the highest that passes >= 99.5% of the tune split's unsafe rows (handwritten included; `rules` has
none: any signal sends a text to the model); on heldout we
report the unsafe pass-through, the share of benign real rows (corpus rows labelled safe) cleared, the
unsafe rows it would clear (ids only, and whether a validated detector flags them anyway), and the
gate's cost per text beside the model's, timed in the same run, taking turns batch by batch. On real
corpus sentences (bench.quantization.sentences) the cleared share is measured, and the whole guard's
texts/s with and without the gate: the cascaded path is the pipeline's own phases (prepare, detect,
gate, the model on what passed, finish), measured, not projected.
No text is written anywhere: ids and figures only. Writes bench/results/cascade.json and its section
of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DATA, WORK, model_dir, report, table
from guard import Guard
from guard._pipeline import Pipeline
from guard.detectors.base import Validity
from guard.engine.base import EngineOutput
from guard.normalize import normalize
from guard.policy import Rules
from guard.taxonomy import CATEGORY_CODES
from guard.verdict import Verdict
from training import cascade as gates

PASS_TARGET = gates.PASS_TARGET
BATCH = 64
CANDIDATES = ("ngram", "ngram+signals", "rules")
_FILES = {"ngram": "ngram.npz", "ngram+signals": "ngram_signals.npz"}


@dataclass(frozen=True)
class Split:
    """One labelled split: ids, normalized texts, unsafe and benign-real masks, validated detector hits."""

    ids: list[str]
    texts: list[str]
    unsafe: np.ndarray
    benign: np.ndarray
    detector_flags: np.ndarray


def _split(ids: list[str], raw: list[str], unsafe: list[bool], benign: list[bool], pipe: Pipeline) -> Split:
    texts = [normalize(t).text for t in raw]
    hits = [any(m.validity is Validity.VALID for m in pipe.detectors.analyze(t)) for t in texts]
    return Split(ids, texts, np.array(unsafe), np.array(benign), np.array(hits))


def dev_splits(pipe: Pipeline) -> dict[str, Split]:
    from training.realtext import devset

    out = {}
    for name in devset.SPLITS:
        rows = devset.load(name)
        out[name] = _split([r.id for r in rows], [r.text for r in rows], [bool(r.labels) for r in rows],
                           [r.origin == "corpus" and not r.labels for r in rows], pipe)
    return out


def tiny_splits(pipe: Pipeline) -> tuple[dict[str, Split], list[str]]:
    """The smoke run's stand-in: bench/data chat rows (unsafe = a planted identifier), no dev set."""
    rows = [json.loads(line) for line in (DATA / "chat.jsonl").read_text(encoding="utf-8").splitlines()]
    train = WORK / "cascade-tiny" / "train.jsonl"
    train.parent.mkdir(parents=True, exist_ok=True)
    train.write_text("".join(json.dumps({"text": r["text"], "labels": ["P"] if r["pii"] else []},
                                        ensure_ascii=False) + "\n" for r in rows[:600]), encoding="utf-8")
    parts = {"tune": rows[600:700], "heldout": rows[700:800]}
    splits = {k: _split([r["id"] for r in v], [r["text"] for r in v], [bool(r["pii"]) for r in v],
                        [not r["pii"] for r in v], pipe) for k, v in parts.items()}
    return splits, [r["text"] for r in rows[800:864]]


class Gate:
    """One candidate: scores (higher = more likely unsafe) of normalized texts, with the detectors'
    matches the pipeline already has."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.linear = gates.LinearGate.load(folder / _FILES[name]) if name in _FILES else None

    def scores(self, texts: Sequence[str], matches: Sequence[Sequence[object]]) -> np.ndarray:
        needs_signals = self.linear is None or self.linear.with_signals
        sig = gates.signals(texts, matches=matches) if needs_signals else None
        if self.linear is None:
            assert sig is not None
            return np.asarray(sig.max(axis=1))  # rules: any signal sends the text to the model
        return self.linear.scores(texts, sig)


def split_figures(split: Split, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    passed = scores >= threshold
    missed = split.unsafe & ~passed
    return {
        "unsafe_rows": int(split.unsafe.sum()),
        "unsafe_passed": round(float(passed[split.unsafe].mean()), 4) if split.unsafe.any() else 0.0,
        "benign_real_rows": int(split.benign.sum()),
        "benign_real_cleared": round(float((~passed[split.benign]).mean()), 4) if split.benign.any() else 0.0,
        "all_rows_cleared": round(float((~passed).mean()), 4),
        "unsafe_cleared_ids": [split.ids[i] for i in np.flatnonzero(missed)],
        "unsafe_cleared_but_detector_flags": int((missed & split.detector_flags).sum()),
    }


def _matches(pipe: Pipeline, texts: Sequence[str]) -> list[list[object]]:
    return [list(pipe.detectors.analyze(t)) for t in texts]


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, every thread): on a shared machine the CPU time is
    what the work costs, the wall time what it took beside the others."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def cascaded_check_batch(pipe: Pipeline, gate: Gate, threshold: float, texts: Sequence[str],
                         rules: Rules) -> tuple[list[Verdict], int]:
    """Guard.check_batch's phases with the gate between detect and the model: cleared texts get model
    scores of 0 (detector evidence still decides them). Returns the verdicts and how many passed."""
    prepared = [pipe.detect(pipe.prepare(pipe.judge(t, None, "user", None))) for t in texts]
    scores = gate.scores([p.normalized.text for p in prepared], [p.matches or [] for p in prepared])
    passed = [p for p, s in zip(prepared, scores, strict=True) if s >= threshold]
    outputs = iter(pipe.infer(passed))
    zero = EngineOutput({c: 0.0 for c in CATEGORY_CODES}, [])
    keep = {id(p) for p in passed}
    verdicts = [pipe.finish(p, next(outputs) if id(p) in keep else zero, rules)
                for p in prepared]
    return verdicts, len(passed)


def costs(pipe: Pipeline, guard: Guard, candidates: dict[str, Gate], thresholds: dict[str, float],
          texts: list[str], repeats: int) -> dict[str, Any]:
    """µs per text of every phase, taking turns batch by batch so contention hits them alike."""
    rules = pipe.policy.resolve("user")
    batches = [texts[k:k + BATCH] for k in range(0, len(texts), BATCH)]
    norm = [[normalize(t).text for t in b] for b in batches]
    matches = [_matches(pipe, b) for b in norm]
    prepared = [[pipe.prepare(pipe.judge(t, None, "user", None)) for t in b] for b in batches]
    guard.check_batch(batches[0])  # warm-up
    work: dict[str, Callable[[int], object]] = {
        "model (engine.predict)": lambda k: pipe.infer(prepared[k]),
        "detectors (always run)": lambda k: _matches(pipe, norm[k]),
        "Guard.check_batch": lambda k: guard.check_batch(batches[k]),
    }
    for name, gate in candidates.items():
        work[f"gate {name}"] = partial(lambda g, k: g.scores(norm[k], matches[k]), gate)
        work[f"cascaded check_batch, {name}"] = partial(
            lambda g, t, k: cascaded_check_batch(pipe, g, t, batches[k], rules), gate, thresholds[name])
    totals: dict[str, list[float]] = {name: [] for name in work}
    cpu: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(repeats):
        wall_pass, cpu_pass = dict.fromkeys(work, 0.0), dict.fromkeys(work, 0.0)
        for k in range(len(batches)):
            for name, fn in work.items():
                wall, used = _timed(partial(fn, k))
                wall_pass[name] += wall
                cpu_pass[name] += used
        for name in work:
            totals[name].append(wall_pass[name] / len(texts) * 1e6)
            cpu[name].append(cpu_pass[name] / len(texts) * 1e6)
    cleared = {}
    for name, gate in candidates.items():
        s = np.concatenate([gate.scores(n, m) for n, m in zip(norm, matches, strict=True)])
        cleared[name] = round(float((s < thresholds[name]).mean()), 4)
    return {"us_per_text": {k: statistics.median(v) for k, v in totals.items()},
            "cpu_us_per_text": {k: statistics.median(v) for k, v in cpu.items()},
            "us_per_text_spread": {k: [min(v), max(v)] for k, v in totals.items()},
            "real_sentences_cleared": cleared}


def ensure_gates(folder: Path, tiny: bool) -> Path:
    if all((folder / f).is_file() for f in _FILES.values()):
        return folder
    data = str(WORK / "cascade-tiny" / "train.jsonl") if tiny else gates.GateTrainConfig().data
    config = gates.GateTrainConfig(data=data, out=str(folder), bits=14 if tiny else 18,
                                   epochs=20 if tiny else gates.GateTrainConfig().epochs)
    print(f"training the gates ({'tiny' if tiny else 'full'}) into {folder}")
    gates.train(config)
    return folder


def markdown(results: dict[str, dict[str, Any]], cost: dict[str, Any], n_texts: int,
             verdict: str) -> str:
    us = cost["us_per_text"]
    cpu = cost["cpu_us_per_text"]
    model_us, model_cpu = us["model (engine.predict)"], cpu["model (engine.predict)"]
    whole_us = us["Guard.check_batch"]
    rows = []
    for name, r in results.items():
        tune, held = r["tune"], r["heldout"]
        rows.append([name, f"{r['threshold']:.3f}", f"{100 * tune['unsafe_passed']:.2f}% ({tune['unsafe_rows']})",
                     f"{100 * tune['benign_real_cleared']:.1f}%", f"{100 * held['unsafe_passed']:.2f}% "
                     f"({held['unsafe_rows']})", f"{100 * held['benign_real_cleared']:.1f}%",
                     ", ".join(held["unsafe_cleared_ids"]) or "-",
                     f"{cpu[f'gate {name}']:.0f} ({100 * cpu[f'gate {name}'] / model_cpu:.2f}%)",
                     f"{100 * cost['real_sentences_cleared'][name]:.1f}%",
                     f"{1e6 / cpu[f'cascaded check_batch, {name}']:.0f} "
                     f"({cpu['Guard.check_batch'] / cpu[f'cascaded check_batch, {name}']:.2f}x)"])
    head = ["gate", "threshold (tune)", "tune unsafe passed (rows)", "tune benign real cleared",
            "heldout unsafe passed (rows)", "heldout benign real cleared", "heldout unsafe cleared (ids)",
            "gate CPU µs/text (of model)", "real sentences cleared",
            "cascaded guard texts/s per core (vs without)"]
    return "\n".join([
        f"Bar: >= {100 * PASS_TARGET:.1f}% of unsafe rows passed to the model on both splits. Thresholds "
        "chosen on tune; gates trained on training/work/data/train.jsonl (`python -m training.cascade`).",
        "", table(head, rows), "",
        f"Same run, {n_texts} real corpus sentences, batches of {BATCH}, phases taking turns batch by batch, "
        f"medians of CPU time (all threads of the process): model {model_cpu:.0f} µs/text, detectors "
        f"{cpu['detectors (always run)']:.0f} µs/text (run anyway; the signals reuse their matches), whole "
        f"Guard.check_batch {cpu['Guard.check_batch']:.0f} µs/text = {1e6 / cpu['Guard.check_batch']:.0f} "
        f"texts/s per core (wall clock beside the other processes: {whole_us:.0f} µs/text, model "
        f"{model_us:.0f}). `cascaded guard texts/s` is measured, not projected: the pipeline's phases with "
        "the gate before the model.",
        "", f"**Decision**: {verdict}"])


def decide(results: dict[str, dict[str, Any]]) -> str:
    met = [n for n, r in results.items()
           if min(r["tune"]["unsafe_passed"], r["heldout"]["unsafe_passed"]) >= PASS_TARGET
           and r["heldout"]["benign_real_cleared"] >= 0.40]
    if met:
        return f"{', '.join(met)} meet the bar (>= 99.5% passed on both splits, >= 40% benign cleared)."
    return ("no gate meets the bar (>= 99.5% of unsafe rows passed on both tune and heldout while clearing "
            ">= 40% of benign real rows); nothing is wired into the guard.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--gates", type=Path, default=None, help="folder of the trained gates")
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="smoke run: chat rows, tiny gates, figures mean nothing")
    args = ap.parse_args(argv)
    pipe = Pipeline(model_dir(args.model, tiny=args.tiny), None, None, None)
    guard = Guard(engine=pipe.engine)
    if args.tiny:
        splits, texts = tiny_splits(pipe)
        folder = ensure_gates(args.gates or WORK / "cascade-tiny" / "gates", tiny=True)
        repeats = 1
    else:
        from bench.quantization import sentences

        splits = dev_splits(pipe)
        texts = sentences(args.texts, seed=9)
        folder = ensure_gates(args.gates or gates.OUT, tiny=False)
        repeats = args.repeats
    candidates = {name: Gate(name, folder) for name in CANDIDATES}
    results: dict[str, dict[str, Any]] = {}
    for name, gate in candidates.items():
        scored = {k: gate.scores(s.texts, _matches(pipe, s.texts)) for k, s in splits.items()}
        # the rule gate has no threshold to choose: a text goes to the model when any signal fires
        threshold = 1.0 if gate.linear is None else gates.threshold_for(scored["tune"], splits["tune"].unsafe)
        results[name] = {"threshold": threshold,
                         **{k: split_figures(splits[k], scored[k], threshold) for k in splits}}
    thresholds = {name: float(r["threshold"]) for name, r in results.items()}
    cost = costs(pipe, guard, candidates, thresholds, texts, repeats)
    verdict = decide(results)
    text = markdown(results, cost, len(texts), verdict)
    print(text)
    sizes = {name: (folder / f).stat().st_size for name, f in _FILES.items()}
    report("cascade", {"gates": str(folder), "gate_bytes": sizes, "texts": len(texts), "candidates": results,
                       "costs": cost, "decision": verdict}, text, smoke=args.tiny)


if __name__ == "__main__":
    main()
