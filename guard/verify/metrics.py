"""Figures from scored rows: per-category precision/recall/F1, false-positive rates, the confusion
between categories, span F1 per type, precision-recall curves, the worst errors (by row id).

Every function takes arrays and returns plain data (floats, ints, lists), ready for report.json.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from guard.taxonomy import CATEGORY_CODES, SpanType
from guard.verify.scoring import Scored

__all__ = ["PRF", "category_table", "confusion", "pr_curve", "span_table", "summary", "worst_errors"]

NONE = "none"   # predicted: no category
SAFE = "safe"   # true: no label


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"support": self.tp + self.fn, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4)}

    @classmethod
    def of(cls, truth: np.ndarray, pred: np.ndarray) -> PRF:
        return cls(int(np.sum(pred & truth)), int(np.sum(pred & ~truth)), int(np.sum(~pred & truth)))


def pr_curve(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds descending, precision, recall): flagging `scores >= thresholds[k]` gives point k."""
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], truth[order].astype(float)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1] if len(s) else np.array([], dtype=int)
    tp = np.cumsum(t)[last]
    fp = (last + 1) - tp
    positives = max(1.0, float(t.sum()))
    return s[last], tp / np.maximum(1.0, tp + fp), tp / positives


def average_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the step precision-recall curve (sklearn's definition); 0 without positives."""
    if not truth.any():
        return 0.0
    _, precision, recall = pr_curve(scores, truth)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def category_table(s: Scored) -> dict[str, dict[str, Any]]:
    """Per code: the guard's flags against the labels, its false-positive rate on rows without the code,
    the threshold in force and the average precision of the scores."""
    out = {}
    for c, code in enumerate(CATEGORY_CODES):
        truth, pred = s.truth[:, c], s.flagged[:, c]
        negatives = int((~truth).sum())
        fp = int(np.sum(pred & ~truth))
        out[code] = {**PRF.of(truth, pred).as_dict(),
                     "fpr": round(fp / negatives, 4) if negatives else 0.0,
                     "threshold": s.thresholds[code],
                     "average_precision": round(average_precision(s.scores[:, c], truth), 4)}
    return out


def confusion(s: Scored) -> dict[str, Any]:
    """Rows with one true category, and safe rows: how often each code (or none) was flagged."""
    true_labels = [*CATEGORY_CODES, SAFE]
    predicted = [*CATEGORY_CODES, NONE]
    matrix = np.zeros((len(true_labels), len(predicted)), dtype=int)
    for truth, flags in zip(s.truth, s.flagged, strict=True):
        if truth.sum() > 1:
            continue
        i = int(np.argmax(truth)) if truth.any() else len(CATEGORY_CODES)
        if flags.any():
            matrix[i, :len(CATEGORY_CODES)] += flags
        else:
            matrix[i, -1] += 1
    return {"true": true_labels, "predicted": predicted, "matrix": matrix.tolist(),
            "note": "rows with exactly one true category, and safe rows; a row flagged for several "
                    "categories counts once in each"}


def span_table(s: Scored) -> dict[str, dict[str, Any]] | None:
    """Exact (start, end, type) span matches per type; None when no row of the file gives spans. When the
    file gives spans, every row's spans are taken as complete (a row without any has none)."""
    if not any(r.spans for r in s.rows):
        return None
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row, predicted in zip(s.rows, s.spans, strict=True):
        gold, pred = set(row.spans), set(predicted)
        for span in gold | pred:
            counts[span[2]][0 if span in gold and span in pred else 1 if span in pred else 2] += 1
    table: dict[str, dict[str, Any]] = {t.value: PRF(*counts[t.value]).as_dict() for t in SpanType
                                        if t.value in counts}
    total = PRF(*(sum(v[k] for v in counts.values()) for k in range(3)))
    return {**table, "all": total.as_dict()}


def worst_errors(s: Scored, limit: int) -> list[dict[str, Any]]:
    """The most confident mistakes: labelled categories missed with the lowest scores, and false alarms
    with the highest, `limit` of each at most; rows by id."""
    missed: list[dict[str, Any]] = []
    alarms: list[dict[str, Any]] = []
    for i, row in enumerate(s.rows):
        for c, code in enumerate(CATEGORY_CODES):
            entry = {"id": row.id, "category": code, "score": round(float(s.scores[i, c]), 4),
                     "threshold": s.thresholds[code], "labels": list(row.labels)}
            if s.truth[i, c] and not s.flagged[i, c]:
                missed.append({"kind": "missed", **entry})
            elif s.flagged[i, c] and not s.truth[i, c]:
                alarms.append({"kind": "false_alarm", **entry})
    missed.sort(key=lambda e: (e["score"], e["id"]))
    alarms.sort(key=lambda e: (-e["score"], e["id"]))
    return missed[:limit] + alarms[:limit]


def summary(s: Scored, *, worst: int = 20) -> dict[str, Any]:
    """Every figure of the eval report (no text: rows appear by id)."""
    table = category_table(s)
    supported = [v["f1"] for v in table.values() if v["support"]]
    safe = np.asarray(~s.truth.any(axis=1), dtype=bool)
    unsafe = ~safe
    any_flag = np.asarray(s.flagged.any(axis=1), dtype=bool)
    micro = PRF(*(sum(v[k] for v in table.values()) for k in ("tp", "fp", "fn")))
    return {
        "rows_judged": len(s.rows),
        "unsafe_rows": int(unsafe.sum()),
        "safe_rows": int(safe.sum()),
        "macro_f1": round(float(np.mean(supported)), 4) if supported else None,
        "micro": micro.as_dict(),
        "safe_rows_flagged": _rate(any_flag[safe]),
        "unsafe_rows_flagged": _rate(any_flag[unsafe]),
        "categories": table,
        "confusion": confusion(s),
        "spans": span_table(s),
        "worst_errors": worst_errors(s, worst),
    }


def _rate(flags: Sequence[bool] | np.ndarray) -> dict[str, Any]:
    n = len(flags)
    k = int(np.sum(flags))
    return {"rate": round(k / n, 4) if n else None, "count": k, "of": n}
