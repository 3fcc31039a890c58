"""Run a Guard over labelled rows, keeping what the metrics need: fused scores, flags, spans.

`Scored.scores` are the guard's fused category scores with one change: a category that a validated
detector found is 1.0, since the guard flags it at any threshold (guard._pipeline.decide). A threshold t
for category c then flags exactly the rows with `scores[:, c] >= t`, so curves, calibration and the
guard's own flags agree. `Scored.flagged` is what the guard flagged under its policy (the verdicts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from guard.detectors.base import Validity
from guard.detectors.registry import DetectorRegistry
from guard.errors import GuardError
from guard.normalize import normalize
from guard.policy import DEFAULT_THRESHOLD
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES, Role
from guard.verdict import Verdict
from guard.verify.dataset import Row

__all__ = ["Scored", "score_rows", "thresholds_in_force"]

_BATCH = 32


@dataclass
class Scored:
    """The guard's judgement of labelled rows (rows it could not judge are in `errors`, not here).

    Attributes:
        rows: the rows judged, in file order.
        scores: [n, 14] fused scores, 1.0 where a validated detector fired.
        truth: [n, 14] the labels.
        flagged: [n, 14] the categories the guard flagged under its policy.
        spans: per row, the returned spans as (start, end, type).
        errors: (row id, error class, message) for rows the guard refused; messages carry no text.
        thresholds: the thresholds in force per code (policy, else model, else 0.5).
    """

    rows: list[Row]
    scores: np.ndarray
    truth: np.ndarray
    flagged: np.ndarray
    spans: list[tuple[tuple[int, int, str], ...]]
    thresholds: dict[str, float]
    errors: list[tuple[str, str, str]] = field(default_factory=list)


def thresholds_in_force(guard: Guard) -> dict[str, float]:
    """Per code, the threshold the guard applies: the policy's, else the model's, else 0.5."""
    model = dict(getattr(guard.info, "thresholds", None) or {})
    return {c: float(guard.policy.thresholds.get(c, model.get(c, DEFAULT_THRESHOLD))) for c in CATEGORY_CODES}


def score_rows(guard: Guard, rows: Sequence[Row], *,
               progress: Callable[[int, int], None] | None = None) -> Scored:
    """Judge every row (in batches where rows share a role and have no context)."""
    verdicts: list[Verdict | GuardError | None] = [None] * len(rows)
    done = 0
    for i, row in enumerate(rows):
        if row.context:
            verdicts[i] = _check_one(guard, row)
            done += 1
    for role in Role:
        idx = [i for i, r in enumerate(rows) if not r.context and r.role == role.value]
        for k in range(0, len(idx), _BATCH):
            chunk = idx[k:k + _BATCH]
            out = guard.check_batch([rows[i].text for i in chunk], role=role.value, return_exceptions=True)
            for i, v in zip(chunk, out, strict=True):
                verdicts[i] = v
            done += len(chunk)
            if progress:
                progress(done, len(rows))
    return _collect(rows, verdicts, thresholds_in_force(guard))


def _check_one(guard: Guard, row: Row) -> Verdict | GuardError:
    try:
        return guard.check(row.text, role=row.role, context=row.context or None)
    except GuardError as exc:
        return exc


def _collect(rows: Sequence[Row], verdicts: Sequence[Verdict | GuardError | None],
             thresholds: dict[str, float]) -> Scored:
    registry = DetectorRegistry.default()
    kept: list[Row] = []
    scores, flagged, spans, errors = [], [], [], []
    for row, v in zip(rows, verdicts, strict=True):
        if not isinstance(v, Verdict):
            name = type(v).__name__ if v is not None else "GuardError"
            message = str(v).split(": ", 1)[-1] if str(v).startswith("item ") else str(v)
            errors.append((row.id, name, message))
            continue
        validated = {m.category.value for m in registry.analyze(normalize(row.text).text)
                     if m.validity is Validity.VALID}
        kept.append(row)
        scores.append([1.0 if c in validated else float(v.scores.get(c, 0.0)) for c in CATEGORY_CODES])
        flagged.append([c in v.categories for c in CATEGORY_CODES])
        spans.append(tuple(sorted((s.start, s.end, s.type) for s in v.spans)))
    n = len(kept)
    return Scored(
        rows=kept,
        scores=np.array(scores, dtype=float).reshape(n, len(CATEGORY_CODES)),
        truth=np.array([[c in r.labels for c in CATEGORY_CODES] for r in kept], dtype=bool).reshape(
            n, len(CATEGORY_CODES)),
        flagged=np.array(flagged, dtype=bool).reshape(n, len(CATEGORY_CODES)),
        spans=spans,
        thresholds=thresholds,
        errors=errors,
    )

