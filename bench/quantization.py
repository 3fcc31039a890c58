"""Which int8 (or other) form of the model to ship: speed, batch invariance and parity, in one run.

    python -m bench.quantization --fp32 training/work/onnx/model.opt.onnx --model models/kguard-ko-small

Every variant is built from the same fp32 graph and run on the same real Korean sentences from
../shared/corpora (none of the dev set's rows): onnxruntime dynamic int8 (the old shipped form),
dynamic int8 run one row at a time, static int8 calibrated on other real sentences (QDQ and QOperator),
per-token dynamic int8 (training/quantize.py quantize_pertoken: its activation forms, the fused
Attention op fp32 or quantized, and onnxruntime's MatMulNBits kernel with 8-bit weights), fp32; and,
when the `openvino` package is installed, OpenVINO fp32, bf16 and (with nncf) int8.
Per variant: texts/s for batches of 64 (median of repeats, the variants taking turns batch by batch),
one 32-token text p50, the largest score change of a text alone against inside a random batch (batch
invariance), and parity against fp32 (mean and max |Δ probability|, decisions that agree at the
model's thresholds).
Writes bench/results/quantization.json and its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import WORK, report
from guard.engine.base import EngineInput
from guard.engine.onnx import load_labels
from guard.engine.tokenize import TextEncoder, Window, pad_batch
from guard.engine.tuning import SessionTuning
from training import quantize
from training.realtext.corpora import all_rows
from training.realtext.devset import excluded_refs

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]  # feed -> category logits [batch, 14]


def sentences(n: int, seed: int) -> list[str]:
    dev = excluded_refs()
    rows = [r.text for r in all_rows() if not r.passage and r.ref not in dev and len(r.text) >= 15]
    return random.Random(seed).sample(rows, n)


def feed_of(windows: list[Window], pad_id: int, token_types: bool, width: int = 0) -> dict[str, np.ndarray]:
    """The model's inputs for `windows`, padded to the longest of them or to `width` if longer."""
    ids, mask = pad_batch(windows, pad_id)
    if width > ids.shape[1]:
        ids, mask = _fit(ids, width, pad_id), _fit(mask, width, 0)
    feed = {"input_ids": ids, "attention_mask": mask}
    if token_types:
        feed["token_type_ids"] = np.zeros_like(ids)
    return feed


def ort_runner(path: Path, threads: int) -> tuple[Runner, bool]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"],
                                **SessionTuning(intra_op_num_threads=threads).session_kwargs())
    token_types = "token_type_ids" in {i.name for i in sess.get_inputs()}
    return (lambda feed: sess.run(["category_logits"], feed)[0]), token_types


def ov_runner(path: Path, threads: int, precision: str, model: object | None = None) -> tuple[Runner, bool]:
    import openvino as ov

    core = ov.Core()
    net = model if model is not None else core.read_model(str(path))
    compiled = core.compile_model(net, "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                "INFERENCE_NUM_THREADS": threads})
    names = {p.get_any_name() for p in compiled.inputs}
    out = compiled.output("category_logits")
    return (lambda feed: compiled(feed)[out]), "token_type_ids" in names


def one_row_at_a_time(run: Runner) -> Runner:
    def each(feed: dict[str, np.ndarray]) -> np.ndarray:
        rows = []
        for i in range(len(feed["input_ids"])):
            n = int(feed["attention_mask"][i].sum())
            rows.append(run({k: v[i:i + 1, :n] for k, v in feed.items()})[0])
        return np.stack(rows)
    return each


def own_width(run: Runner, pad_id: int, quantum: int = 16) -> Runner:
    """Each row padded to its own length rounded up to `quantum`, never to its batchmates' width; rows of
    one width run together. A text's padding then depends on the text alone (for engines whose scores
    move with padding)."""
    def grouped(feed: dict[str, np.ndarray]) -> np.ndarray:
        widths = -(-feed["attention_mask"].sum(axis=1) // quantum) * quantum
        out = np.empty(0)
        for width in np.unique(widths):
            rows = np.flatnonzero(widths == width)
            part = {k: _fit(v[rows], int(width), pad_id if k == "input_ids" else 0) for k, v in feed.items()}
            logits = run(part)
            if out.size == 0:
                out = np.empty((len(widths), logits.shape[1]), dtype=logits.dtype)
            out[rows] = logits
        return out
    return grouped


def _fit(x: np.ndarray, width: int, value: int) -> np.ndarray:
    return x[:, :width] if x.shape[1] >= width else np.pad(x, ((0, 0), (0, width - x.shape[1])),
                                                            constant_values=value)


def timing(runs: dict[str, tuple[Runner, bool]], windows: list[Window], pad_id: int,
           repeats: int) -> dict[str, dict[str, float]]:
    """texts/s over batches of 64 (sorted by length) and one short text's latency. The variants take
    turns batch by batch (and, for the latency, 40 texts at a time), so a loaded host's drift falls on
    all of them alike; one rate per variant and repeat."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    batches = [[windows[i] for i in order[k:k + 64]] for k in range(0, len(order), 64)]
    short = [w for w in windows if 28 <= len(w.input_ids) <= 36][:40] or windows[:40]
    feeds = {tt: [feed_of(b, pad_id, tt) for b in batches] for tt in (False, True)}
    singles = {tt: [feed_of([w], pad_id, tt) for w in short] for tt in (False, True)}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    lat: dict[str, list[float]] = {name: [] for name in runs}
    for run, tt in runs.values():
        run(feeds[tt][0])  # warm-up
    for _ in range(repeats):
        spent = dict.fromkeys(runs, 0.0)
        for k in range(len(batches)):
            for name, (run, tt) in runs.items():
                t0 = time.perf_counter()
                run(feeds[tt][k])
                spent[name] += time.perf_counter() - t0
        for name, (run, tt) in runs.items():
            rates[name].append(len(windows) / spent[name])
            for f in singles[tt]:
                t0 = time.perf_counter()
                run(f)
                lat[name].append((time.perf_counter() - t0) * 1000)
    return {name: {"texts_per_s": round(statistics.median(rates[name]), 1),
                   "texts_per_s_min": round(min(rates[name]), 1), "texts_per_s_max": round(max(rates[name]), 1),
                   "one_text_p50_ms": round(statistics.median(lat[name]), 3)} for name in runs}


def agreement(run: Runner, token_types: bool, windows: list[Window], probe: list[Window], pad_id: int,
              fp32_probs: np.ndarray | None, thresholds: np.ndarray) -> dict[str, float]:
    """Batch invariance (each probe text alone, then inside a batch of 63 random others, and alone padded
    to the longest window) and parity with fp32 on all texts in batches of 64 sorted by length (plus
    "_probs", the probabilities)."""
    rng = random.Random(5)
    alone = np.stack([run(feed_of([w], pad_id, token_types))[0] for w in probe])
    width = max(len(w.input_ids) for w in windows)
    moved = 0.0
    for i, w in enumerate(probe):
        padded = run(feed_of([w], pad_id, token_types, width))[0]
        moved = max(moved, float(np.max(np.abs(_sigmoid(padded) - _sigmoid(alone[i])))))
        others = rng.sample(windows, 63)
        at = rng.randrange(64)
        batch = [*others[:at], w, *others[at:]]
        together = run(feed_of(batch, pad_id, token_types))[at]
        moved = max(moved, float(np.max(np.abs(_sigmoid(together) - _sigmoid(alone[i])))))
    out = {"batch_invariance_max_delta": round(moved, 6)}
    ordered = sorted(windows, key=lambda w: len(w.input_ids))
    probs = _sigmoid(np.concatenate([run(feed_of(ordered[k:k + 64], pad_id, token_types))
                                     for k in range(0, len(ordered), 64)]))
    if fp32_probs is not None:
        diff = np.abs(probs - fp32_probs)
        out |= {"parity_mean": round(float(diff.mean()), 5), "parity_max": round(float(diff.max()), 4),
                "moved_over_0.3": round(float((diff > 0.3).mean()), 5),
                "decisions_agree": round(float(((probs >= thresholds) == (fp32_probs >= thresholds)).mean()), 5)}
    return out | {"_probs": probs}  # type: ignore[dict-item]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x.astype(np.float64)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", type=Path, required=True, help="the optimized fp32 graph (training/work/onnx)")
    ap.add_argument("--model", type=Path, default=Path("models/kguard-ko-small"), help="tokenizer and labels")
    ap.add_argument("--texts", type=int, default=640)
    ap.add_argument("--calibration", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated variant names (names hold no comma)")
    args = ap.parse_args(argv)
    labels = load_labels(args.model / "labels.json")
    encoder = TextEncoder.from_file(args.model / "tokenizer.json", max_length=labels.max_length,
                                    stride=labels.stride, context_tokens=labels.context_tokens)
    texts = sentences(args.texts + args.calibration + 48, seed=3)
    calib, probe, texts = texts[:args.calibration], texts[args.calibration:args.calibration + 48], \
        texts[args.calibration + 48:]
    thresholds = np.array([labels.thresholds.get(c, 0.5) for c in labels.categories])
    out_dir = WORK / "quant"
    # OpenVINO reads the export's graph before onnxruntime's fusions (its contrib ops are onnxruntime's)
    unfused = args.fp32.with_name("model.fp32.onnx")
    out_dir.mkdir(parents=True, exist_ok=True)
    builders: dict[str, Callable[[], tuple[Runner, bool]]] = {
        "ort fp32": lambda: ort_runner(args.fp32, args.threads),
        "ort dynamic int8": lambda: ort_runner(quantize.quantize_dynamic(args.fp32, out_dir / "dyn.onnx"),
                                               args.threads),
        "ort dynamic int8 (one row per run)": lambda: _each(ort_runner(out_dir / "dyn.onnx", args.threads)),
        "ort static int8 QDQ (0.4.0's form: 18 of 24 MatMuls on fp32 inputs)": lambda: ort_runner(
            quantize.quantize_static(args.fp32, out_dir / "qdq_untyped.onnx", encoder, calib, every_matmul=False),
            args.threads),
        "ort static int8 QDQ (every MatMul)": lambda: ort_runner(quantize.quantize_static(
            args.fp32, out_dir / "qdq.onnx", encoder, calib), args.threads),
        "ort static int8 QOperator": lambda: ort_runner(quantize.quantize_static(
            args.fp32, out_dir / "qop.onnx", encoder, calib, qdq=False), args.threads),
        "ort per-token int8": lambda: _pertoken("pertoken"),
        "ort per-token int8 (Attention fp32)": lambda: _pertoken("pertoken_noatt", attention=False),
        "ort per-token int8 (all u8 symmetric)": lambda: _pertoken("pertoken_u8", activations="u8"),
        "ort per-token int8 (auto: a zero point per token after GELU only)": lambda: _pertoken(
            "pertoken_auto", activations="auto"),
        "ort per-token int8 (all s8 symmetric)": lambda: _pertoken("pertoken_s8", activations="s8"),
        "ort MatMulNBits 8-bit (blocks of 64)": lambda: _pertoken("nbits64", block=64),
        "ort MatMulNBits 8-bit (blocks of 128)": lambda: _pertoken("nbits128", block=128),
        "openvino fp32": lambda: ov_runner(unfused, args.threads, "f32"),
        "openvino bf16": lambda: ov_runner(unfused, args.threads, "bf16"),
        "openvino int8 (nncf)": lambda: _nncf(unfused, encoder, calib, args.threads),
        "openvino int8 (nncf) one row per run": lambda: _each(_nncf(unfused, encoder, calib, args.threads)),
        "openvino int8 (nncf) own-width padding": lambda: _padded_alone(
            _nncf(unfused, encoder, calib, args.threads), encoder.pad_id),
    }

    def _pertoken(name: str, **options: Any) -> tuple[Runner, bool]:
        return ort_runner(quantize.quantize_pertoken(args.fp32, out_dir / f"{name}.onnx", **options), args.threads)

    only = [n.strip() for n in args.only.split(",") if n.strip()]
    if unknown := [n for n in only if n not in builders]:
        ap.error(f"unknown variants {unknown}; known: {list(builders)}")
    wanted = [n for n in builders if not only or n in only]
    results: dict[str, dict[str, float]] = {}
    runs: dict[str, tuple[Runner, bool]] = {}
    for name in wanted:
        try:
            runs[name] = builders[name]()
        except ImportError as exc:
            results[name] = {"skipped": f"not installed: {exc.name}"}  # type: ignore[dict-item]
        except Exception as exc:  # a variant that cannot be built is reported, not fatal
            results[name] = {"failed": f"{type(exc).__name__}: {str(exc)[:160]}"}  # type: ignore[dict-item]
    windows = [encoder.windows(EngineInput(t))[0] for t in texts]
    probe_windows = [encoder.windows(EngineInput(t))[0] for t in probe]
    speed = timing(runs, windows, encoder.pad_id, args.repeats)
    fp32_probs = None
    for name, (run, token_types) in runs.items():
        r = speed[name] | agreement(run, token_types, windows, probe_windows, encoder.pad_id, fp32_probs,
                                    thresholds)
        probs = r.pop("_probs")
        if name == "ort fp32":
            fp32_probs = probs  # type: ignore[assignment]
        results[name] = r
        print(name, json.dumps(r))
    results = {name: results[name] for name in wanted}
    report("quantization", {"texts": len(texts), "threads": args.threads, "results": results},
           _table(results, len(texts), args.threads))


def _each(pair: tuple[Runner, bool]) -> tuple[Runner, bool]:
    return one_row_at_a_time(pair[0]), pair[1]


def _padded_alone(pair: tuple[Runner, bool], pad_id: int) -> tuple[Runner, bool]:
    return own_width(pair[0], pad_id), pair[1]


def _nncf(fp32: Path, encoder: TextEncoder, calib: list[str], threads: int) -> tuple[Runner, bool]:
    import nncf
    import openvino as ov

    model = ov.Core().read_model(str(fp32))
    token_types = "token_type_ids" in {p.get_any_name() for p in model.inputs}
    feeds = [feed_of(encoder.windows(EngineInput(t))[:1], encoder.pad_id, token_types) for t in calib]
    # The attention's two activation-by-activation MatMuls stay fp32: quantized, a text's scores moved
    # by up to 0.084 (logit) with its padding alone.
    quantized = nncf.quantize(model, nncf.Dataset(feeds), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(feeds),
                              ignored_scope=nncf.IgnoredScope(patterns=[r".*attention/self/MatMul(_1)?$"]))
    return ov_runner(fp32, threads, "f32", quantized)


#: The shipped form the other rows' texts/s are divided by (bench/RESULTS.md, "vs shipped").
BASELINE = "ort per-token int8"


def _table(results: dict[str, dict[str, float]], n: int, threads: int) -> str:
    base = results.get(BASELINE, {}).get("texts_per_s")
    lines = [f"{n} real sentences from ../shared/corpora, batches of 64 (variants taking turns batch by batch), "
             f"{threads} threads; median of repeats. vs shipped: texts/s over `{BASELINE}` (shipped since 0.5.0).",
             "", "| variant | texts/s (min-max) | vs shipped | one 32-token text p50 | batch invariance max Δ | "
             "parity mean / max Δ vs fp32 | decisions agree |", "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        if "texts_per_s" not in r:
            lines.append(f"| {name} | {next(iter(r.values()))} | | | | | |")
            continue
        ratio = f"{r['texts_per_s'] / base:.2f}x" if base else "-"
        lines.append(f"| {name} | {r['texts_per_s']} ({r['texts_per_s_min']}-{r['texts_per_s_max']}) | {ratio} | "
                     f"{r['one_text_p50_ms']} ms | {r['batch_invariance_max_delta']} | "
                     f"{r.get('parity_mean', '-')} / {r.get('parity_max', '-')} | {r.get('decisions_agree', '-')} |")
    return "\n".join(lines)

if __name__ == "__main__":
    main()
