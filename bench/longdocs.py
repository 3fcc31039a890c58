"""What the sentence check (labels.json `sentence_check`) costs on long documents, in one run.

    python -m bench.longdocs [--model DIR] [--docs 60] [--chars 1500] [--rounds 5] [--tiny]

Documents of real Korean sentences from ../shared/corpora (bench.quantization.sentences) joined until at
least `--chars` characters, as in the long-document test of training/realtext/longdocs.py. Two guards on
the same graph take turns round by round: the model folder as shipped, and a scratch copy whose
labels.json has `sentence_check` 0 (off). Each passes over every document once per round with
Guard.check (one document per call: what a long prompt is); rows quote documents/s, median and min-max
over rounds, and the ratio to the check off. Also: the model windows and the sentence units the check
scored on the last pass. Writes bench/results/longdocs.json and its section of bench/RESULTS.md
(`--tiny`: the bench workload's chat turns joined, one round, results under bench/.work only).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import load_workload, model_dir, report, spread, table
from guard import Guard
from guard.engine.onnx import OnnxEngine


def documents(sentences: list[str], chars: int, n: int) -> list[str]:
    docs: list[str] = []
    parts: list[str] = []
    for sentence in sentences:
        parts.append(sentence)
        if len(" ".join(parts)) >= chars:
            docs.append(" ".join(parts))
            parts = []
            if len(docs) == n:
                break
    return docs


def unchecked_copy(folder: Path, scratch: Path) -> Path:
    """The model folder with the sentence check off (same graph, same thresholds)."""
    copy = scratch / folder.name
    shutil.copytree(folder, copy)
    labels = json.loads((copy / "labels.json").read_text(encoding="utf-8"))
    labels["sentence_check"] = 0
    (copy / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    return copy


class Counting:
    """Counts the windows an engine scores (model work), by wrapping its `_run_sorted`."""

    def __init__(self, engine: OnnxEngine) -> None:
        self.windows = 0
        run = engine._run_sorted  # noqa: SLF001 - bench only

        def counted(windows, pacer=None):  # type: ignore[no-untyped-def]
            self.windows += len(windows)
            return run(windows, pacer)

        engine._run_sorted = counted  # type: ignore[method-assign]  # noqa: SLF001


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--docs", type=int, default=60)
    ap.add_argument("--chars", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tiny", action="store_true", help="a few documents, one round: keeps the command working")
    args = ap.parse_args(argv)
    folder = Path(model_dir(args.model, tiny=args.tiny))
    if args.tiny:
        args.rounds, args.docs, args.chars = 1, 3, 200
        sentences, source = [r.text for r in load_workload("chat")], "chat turns of bench/data"
    else:
        from bench.quantization import sentences as real_sentences

        sentences, source = real_sentences(args.docs * 40, seed=17), "real sentences from ../shared/corpora"
    docs = documents(sentences, args.chars, args.docs)
    with tempfile.TemporaryDirectory() as scratch:
        guards = {"check on": Guard(folder), "check off": Guard(unchecked_copy(folder, Path(scratch)))}
        counters = {name: Counting(g._p.engine) for name, g in guards.items()}  # noqa: SLF001 - bench only
        rates: dict[str, list[float]] = {name: [] for name in guards}
        for g in guards.values():
            g.check(docs[0])  # warm-up
        for _ in range(args.rounds):
            for name, g in guards.items():
                counters[name].windows = 0
                started = time.perf_counter()
                for doc in docs:
                    g.check(doc)
                rates[name].append(len(docs) / (time.perf_counter() - started))
        check = guards["check on"]._p.engine.labels.sentence_check  # noqa: SLF001 - bench only
    payload: dict[str, Any] = {
        "model": str(folder), "docs": len(docs), "source": source, "sentence_check": check,
        "mean_chars": round(statistics.fmean(len(d) for d in docs), 1), "rounds": args.rounds,
        "rates": {name: spread(r) for name, r in rates.items()},
        "windows_per_pass": {name: c.windows for name, c in counters.items()},
    }
    text = markdown(payload)
    print(text)
    report("longdocs", payload, text, smoke=args.tiny)


def markdown(res: dict[str, Any]) -> str:
    off = res["rates"]["check off"]["median"]
    work = res["windows_per_pass"]
    rows = [[name, r["median"], f"{r['min']:.2f}-{r['max']:.2f}", f"{r['median'] / off:.2f}x", work[name]]
            for name, r in res["rates"].items()]
    return "\n".join([
        f"Model `{Path(res['model']).name}`, sentence_check {res['sentence_check']}; {res['docs']} documents "
        f"of {res['source']}, mean {res['mean_chars']} characters; Guard.check per document, "
        f"{res['rounds']} rounds, variants in turn; median and min-max over rounds.",
        "",
        table(["variant", "documents/s", "spread", "/ check off", "windows scored per pass"], rows),
    ])


if __name__ == "__main__":
    main()
