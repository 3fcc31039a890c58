"""The whole guard (model, detectors, policy, as users run it) on the real-text dev set.

    python -m training.realtext.report --model models/kguard-ko-small --split tune
    python -m training.realtext.report --model DIR --split tune --retune   # thresholds chosen on tune
    python -m training.realtext.report --model DIR --split heldout --json out.json
    python -m training.realtext.report --model DIR --split tune --explain  # what fails in long documents

Figures: per-category precision/recall/F1 and macro F1 (categories with a positive row), unsafe recall
(unsafe rows flagged at all), benign real rows flagged (corpus rows labelled safe), all safe rows
flagged, and the long-document test (training.realtext.longdocs; benign documents flagged, and how many
of them hold a row the guard flags alone). `--explain` (tune only: heldout gives
aggregates, never rows) lists the benign long documents flagged and the disclosures lost in a document,
by row id and score, without their text.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guard import Guard
from guard.detectors.base import Validity
from guard.detectors.registry import DetectorRegistry
from guard.normalize import normalize
from guard.taxonomy import CATEGORY_CODES
from training.realtext import devset, longdocs

_BATCH = 64


@dataclass
class Scored:
    probs: np.ndarray  # [n, 14] fused scores, 1.0 where a validated detector fired (flags at any threshold)
    truth: np.ndarray  # [n, 14] 0/1


def score(guard: Guard, texts: list[str], roles: list[str], contexts: list[str],
          labels: list[tuple[str, ...]]) -> Scored:
    registry = DetectorRegistry.default()
    probs = np.zeros((len(texts), len(CATEGORY_CODES)))
    for i, (text, role, context) in enumerate(zip(texts, roles, contexts, strict=True)):
        verdict = guard.check(text, role=role, context=context or None)
        probs[i] = [verdict.scores[c] for c in CATEGORY_CODES]
        for m in registry.analyze(normalize(text).text):
            if m.validity is Validity.VALID:
                probs[i, CATEGORY_CODES.index(m.category.value)] = 1.0
    truth = np.array([[1 if c in ls else 0 for c in CATEGORY_CODES] for ls in labels])
    return Scored(probs, truth)


def score_rows(guard: Guard, rows: list[devset.DevRow]) -> Scored:
    return score(guard, [r.text for r in rows], [r.role for r in rows], [r.context for r in rows],
                 [r.labels for r in rows])


def _threshold_vector(thresholds: dict[str, float]) -> np.ndarray:
    return np.array([thresholds.get(c, 0.5) for c in CATEGORY_CODES])


def metrics(s: Scored, thresholds: dict[str, float], benign: np.ndarray) -> dict[str, object]:
    t = _threshold_vector(thresholds)
    flags = s.probs >= t
    per: dict[str, dict[str, float]] = {}
    for c, code in enumerate(CATEGORY_CODES):
        tp = int(np.sum(flags[:, c] & (s.truth[:, c] == 1)))
        fp = int(np.sum(flags[:, c] & (s.truth[:, c] == 0)))
        fn = int(np.sum(~flags[:, c] & (s.truth[:, c] == 1)))
        p = tp / max(1, tp + fp)
        r = tp / max(1, tp + fn)
        per[code] = {"support": tp + fn, "precision": round(p, 4), "recall": round(r, 4),
                     "f1": round(2 * p * r / max(1e-9, p + r), 4), "fp": fp}
    unsafe = s.truth.sum(axis=1) > 0
    any_flag = flags.any(axis=1)
    supported = [v["f1"] for v in per.values() if v["support"] > 0]
    return {
        "rows": int(len(s.truth)), "unsafe_rows": int(unsafe.sum()), "benign_real_rows": int(benign.sum()),
        "macro_f1": round(float(np.mean(supported)), 4) if supported else 0.0,
        "unsafe_recall": round(float(any_flag[unsafe].mean()), 4) if unsafe.any() else 0.0,
        "benign_real_flagged": round(float(any_flag[benign].mean()), 4) if benign.any() else 0.0,
        "safe_flagged": round(float(any_flag[~unsafe].mean()), 4) if (~unsafe).any() else 0.0,
        "per_category": per,
    }


@dataclass
class LongScores:
    mean_chars: int  # of the benign documents
    unsafe_ids: list[str]  # the planted rows, in the order of `alone` and `planted`
    alone: Scored  # each planted row scored alone
    planted: Scored  # each benign document with that row planted
    benign: Scored  # the benign documents
    benign_rows_alone: np.ndarray  # [n_benign, 14]: per benign document, the most any of its rows scores alone


def score_long_documents(guard: Guard, rows: list[devset.DevRow], row_scores: Scored, scale: int = 1,
                         ) -> LongScores:
    """The long documents scored; what a row scores alone is read from `row_scores` (`rows` scored by
    score_rows: the planted rows and the benign documents' rows are user rows without a context)."""
    carriers, planted, unsafe = longdocs.long_documents(rows, scale)
    at = {r.text: k for k, r in enumerate(rows)}

    def as_user(texts: list[str], labels: list[tuple[str, ...]]) -> Scored:
        return score(guard, texts, ["user"] * len(texts), [""] * len(texts), labels)

    alone = [at[r.text] for r in unsafe]
    return LongScores(mean_chars=int(np.mean([len(d.text) for d in carriers])),
                      unsafe_ids=[r.id for r in unsafe],
                      alone=Scored(row_scores.probs[alone], row_scores.truth[alone]),
                      planted=as_user([d.text for d in planted], [d.labels for d in planted]),
                      benign=as_user([d.text for d in carriers], [() for _ in carriers]),
                      benign_rows_alone=np.stack([row_scores.probs[[at[p] for p in d.parts]].max(axis=0)
                                                  for d in carriers]))


def _caught(s: Scored, t: np.ndarray) -> np.ndarray:
    return ((s.probs >= t) & (s.truth == 1)).any(axis=1)


def long_document_figures(ls: LongScores, thresholds: dict[str, float]) -> dict[str, object]:
    t = _threshold_vector(thresholds)
    caught_alone = _caught(ls.alone, t)
    flagged = (ls.benign.probs >= t).any(axis=1)
    return {
        "benign_docs": len(ls.benign.probs), "mean_chars": ls.mean_chars,
        "benign_docs_flagged": round(float(flagged.mean()), 4),
        # a document holding a row the guard flags alone is a lone false alarm, not sentences adding up
        "benign_docs_flagged_with_a_row_flagged_alone": round(
            float((flagged & (ls.benign_rows_alone >= t).any(axis=1)).mean()), 4),
        "planted_caught_alone": int(caught_alone.sum()),
        "still_caught_in_doc": round(float(_caught(ls.planted, t)[caught_alone].mean()), 4)
        if caught_alone.any() else 0.0,
    }


def explain_long_documents(ls: LongScores, thresholds: dict[str, float]) -> list[str]:
    """One line per benign document flagged (its flagged categories and scores) and per disclosure caught
    alone but not in its document (its categories, scores alone and in the document)."""
    t = _threshold_vector(thresholds)
    lines = []
    for k, row in enumerate(ls.benign.probs):
        hits = [f"{c} {row[i]:.2f} (threshold {t[i]:.2f})" for i, c in enumerate(CATEGORY_CODES) if row[i] >= t[i]]
        if hits:
            lines.append(f"benign document {k} flagged: " + ", ".join(hits))
    lost = _caught(ls.alone, t) & ~_caught(ls.planted, t)
    for k in np.flatnonzero(lost):
        cats = [i for i in range(len(CATEGORY_CODES)) if ls.alone.truth[k, i]]
        lines.append(f"lost in its document: {ls.unsafe_ids[k]} " + ", ".join(
            f"{CATEGORY_CODES[i]} alone {ls.alone.probs[k, i]:.2f}, in the document {ls.planted.probs[k, i]:.2f} "
            f"(threshold {t[i]:.2f})" for i in cats))
    return lines


def split_figures(guard: Guard, split: str, thresholds: dict[str, float], long_docs: bool = True,
                  explain: bool = False, long_scale: int = 1) -> dict[str, object]:
    rows = devset.load(split)
    s = score_rows(guard, rows)
    benign = np.array([r.origin == "corpus" and not r.labels for r in rows])
    out: dict[str, object] = {"split": split, **metrics(s, thresholds, benign)}
    if long_docs or explain:
        ls = score_long_documents(guard, rows, s, long_scale)
        out["long_documents"] = long_document_figures(ls, thresholds)
        if explain:
            out["explain_long_documents"] = explain_long_documents(ls, thresholds)
    return out


def evaluate_real(model_dir: Path) -> dict[str, object] | None:
    """Both splits for the model report; None when ../shared/corpora is not here."""
    from training.realtext.corpora import CORPORA

    if not CORPORA.is_dir():
        return None
    guard = Guard(model_dir)
    thresholds = dict(guard.info.thresholds)
    return {split: split_figures(guard, split, thresholds) for split in devset.SPLITS}


#: The share of tune's safe rows the thresholds may flag. 0.015 (0.3.0) let 3.4% of heldout's benign real
#: rows through on candidate A against 1.0% on tune; 0.01 keeps a margin (training/README.md, run 13).
MAX_SAFE_FP = 0.01


def retune(s: Scored, max_safe_fp: float) -> dict[str, float]:
    from training.export import cap_false_positives, choose_thresholds

    # Precision 0.7 per category (a few dozen positives each: 0.9 bought little precision for much
    # recall on tune), then raised until at most `max_safe_fp` of tune's safe rows are flagged.
    thresholds = choose_thresholds(s.probs, s.truth, target_precision=0.7, fallback_floor=0.3)
    return cap_false_positives(s.probs, s.truth, thresholds, max_safe_fp, hi=0.97)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--split", choices=devset.SPLITS, default="tune")
    ap.add_argument("--retune", action="store_true", help="choose thresholds on this split, write labels.json")
    ap.add_argument("--max-safe-fp", type=float, default=MAX_SAFE_FP)
    ap.add_argument("--no-long", action="store_true")
    ap.add_argument("--explain", action="store_true", help="tune only: what fails in long documents, by row id")
    ap.add_argument("--long-scale", type=int, default=1, choices=range(1, 11), metavar="K",
                    help="tune only: K x 100 benign long documents and K plantings of each disclosure")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.explain and args.split != "tune":
        raise SystemExit("--explain lists rows: tune only; heldout gives aggregate figures")
    if args.long_scale != 1 and args.split != "tune":
        raise SystemExit("--long-scale is for choosing on tune; heldout's figures use the recorded set")
    guard = Guard(args.model)
    thresholds = dict(guard.info.thresholds)
    if args.retune:
        if args.split != "tune":
            raise SystemExit("thresholds are chosen on the tune split only; heldout gives the final figures")
        thresholds = retune(score_rows(guard, devset.load("tune")), args.max_safe_fp)
        labels_path = Path(args.model) / "labels.json"
        labels = json.loads(labels_path.read_text())
        labels["thresholds"] = thresholds
        labels_path.write_text(json.dumps(labels, indent=2, ensure_ascii=False) + "\n")
        guard = Guard(args.model)
    figures = split_figures(guard, args.split, thresholds, not args.no_long, args.explain, args.long_scale)
    out = {"thresholds": thresholds, **figures}
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
