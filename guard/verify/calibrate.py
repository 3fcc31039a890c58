"""`kguard calibrate FILE (--target-precision P | --max-fpr F) -o policy.toml`: per-category thresholds
chosen on the user's labelled rows, written as a policy file that serve, check and scan accept.

For each category, a threshold that meets the target with the most recall it allows (of the thresholds
that flag the same rows, the one halfway between the scores on either side):
- `--target-precision P`: precision on the rows >= P;
- `--max-fpr F`: the share of rows without the category that are flagged for it <= F.
A category with fewer labelled rows (or rows without it) than the minimum, or whose target no threshold
meets, is refused: its line says why and the threshold in force stays (the base policy's, else the
model's). Each threshold line carries the precision, recall and false-positive rate it gives on the rows,
with percentile bootstrap intervals (rows resampled with replacement; when nothing went the other way,
0 or 1 exactly, the exact Clopper-Pearson interval, since every resample would agree).

Scores are the guard's fused scores (guard.verify.scoring): a category a validated detector found is
flagged at any threshold, so no threshold removes those false positives; the comments count them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from guard.errors import GuardError
from guard.policy import Policy
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES, Role
from guard.verify.dataset import load_rows
from guard.verify.metrics import pr_curve
from guard.verify.output import model_summary, write_text
from guard.verify.scoring import Scored, score_rows

__all__ = ["CalibrateOptions", "Choice", "calibrate_file", "choose", "policy_toml"]

@dataclass(frozen=True)
class CalibrateOptions:
    input: Path
    output: Path
    target_precision: float | None = None
    max_fpr: float | None = None
    min_positives: int = 20
    min_negatives: int = 20
    bootstrap: int = 1000
    confidence: float = 0.95
    seed: int = 0
    policy: Path | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Choice:
    """The outcome for one category: a threshold with its figures, or a refusal with its reason."""

    code: str
    positives: int
    negatives: int
    previous: float
    threshold: float | None = None
    refused: str | None = None
    figures: Mapping[str, Any] | None = None   # precision/recall/fpr and their intervals, detector-forced fps


def choose(s: Scored, options: CalibrateOptions) -> list[Choice]:
    """One Choice per category code."""
    rng = np.random.default_rng(options.seed)
    out = []
    for c, code in enumerate(CATEGORY_CODES):
        truth, scores = s.truth[:, c], s.scores[:, c]
        pos, neg = int(truth.sum()), int((~truth).sum())
        base = partial(Choice, code, pos, neg, s.thresholds[code])
        if pos < options.min_positives or neg < options.min_negatives:
            out.append(base(refused=f"too few examples: {pos} labelled rows and {neg} without "
                                             f"(need {options.min_positives} and {options.min_negatives})"))
            continue
        threshold, why = _threshold(scores, truth, options)
        if threshold is None:
            out.append(base(refused=why))
            continue
        out.append(base(threshold=threshold, figures=_figures(scores >= threshold, truth, scores,
                                                                        rng, options)))
    return out


def _threshold(scores: np.ndarray, truth: np.ndarray, o: CalibrateOptions) -> tuple[float | None, str]:
    levels, precision, recall = pr_curve(scores, truth)
    fp = np.array([np.sum((scores >= t) & ~truth) for t in levels], dtype=float)
    fpr = fp / max(1, int((~truth).sum()))
    if o.target_precision is not None:
        ok = np.nonzero((precision >= o.target_precision) & (recall > 0))[0]
        best = int(np.argmax(precision))
        why = (f"no threshold reaches precision {o.target_precision:g} on these rows (the best is "
               f"{precision[best]:.3f}, at {levels[best]:.4f})")
    else:
        ok = np.nonzero(fpr <= float(o.max_fpr or 0.0))[0]
        why = (f"no threshold keeps the false-positive rate at {o.max_fpr:g} (validated detectors flag "
               f"{fpr[0]:.3f} of the rows without the category whatever the threshold)")
    if not len(ok):
        return None, why
    # The most recall the target allows; of the thresholds that give it, the highest (no false positive
    # bought without recall), and then halfway down to the next score: every threshold in between flags
    # the same rows here, the middle leaves the most room either way on new data.
    most = float(recall[ok].max())
    if most == 0.0:
        return None, "no threshold that meets the target flags any labelled row"
    k = int(min(i for i in ok if recall[i] == most))  # levels descend: the first is the highest
    lower = float(levels[k + 1]) if k + 1 < len(levels) else 0.0
    return round((float(levels[k]) + lower) / 2, 5), ""


def _figures(flagged: np.ndarray, truth: np.ndarray, scores: np.ndarray, rng: np.random.Generator,
             o: CalibrateOptions) -> dict[str, Any]:
    """Point estimates and bootstrap intervals. Resampling rows with replacement gives multinomial counts
    of the four cells (tp, fp, fn, tn), so the B resamples cost B draws, not B passes over the rows."""
    cells = np.array([np.sum(flagged & truth), np.sum(flagged & ~truth), np.sum(~flagged & truth),
                      np.sum(~flagged & ~truth)], dtype=float)
    n = int(cells.sum())
    draws = rng.multinomial(n, cells / n, size=o.bootstrap).astype(float)
    tp, fp, fn, tn = draws.T
    with np.errstate(divide="ignore", invalid="ignore"):
        samples = {"precision": tp / (tp + fp), "recall": tp / (tp + fn), "fpr": fp / (fp + tn)}
    point = {"precision": cells[0] / max(1.0, cells[0] + cells[1]), "recall": cells[0] / max(1.0, cells[0] + cells[2]),
             "fpr": cells[1] / max(1.0, cells[1] + cells[3])}
    lo, hi = 100 * (1 - o.confidence) / 2, 100 * (1 + o.confidence) / 2
    out: dict[str, Any] = {}
    sizes = {"precision": cells[0] + cells[1], "recall": cells[0] + cells[2], "fpr": cells[1] + cells[3]}
    for key, values in samples.items():
        values = values[np.isfinite(values)]
        interval = [float(np.percentile(values, lo)), float(np.percentile(values, hi))] if len(values) else None
        n = int(sizes[key])
        if n and point[key] in (0.0, 1.0):
            # every resample agrees when nothing went the other way: the bootstrap interval collapses, so
            # use the exact (Clopper-Pearson) bound for no failures in n instead
            edge = ((1 - o.confidence) / 2) ** (1 / n)
            interval = [edge, 1.0] if point[key] == 1.0 else [0.0, 1.0 - edge]
        out[key] = {"value": round(float(point[key]), 4),
                    "interval": [round(v, 4) for v in interval] if interval else None}
    out["forced_false_positives"] = int(np.sum((scores >= 1.0) & ~truth))
    out["tp"], out["fp"], out["fn"] = int(cells[0]), int(cells[1]), int(cells[2])
    return out


def policy_toml(choices: list[Choice], base: Policy, header: list[str]) -> str:
    """The policy file: the base policy's masking and actions, the chosen thresholds, all commented."""
    lines = [f"# {h}" if h else "#" for h in header]
    lines += ["", f'masking = "{base.masking.value}"', "", "[thresholds]"]
    for ch in choices:
        if ch.threshold is None:
            kept = base.thresholds.get(ch.code)
            stays = f"the base policy's threshold {kept:g} stays" if kept is not None else (
                f"the model's threshold {ch.previous:g} stays")
            lines.append(f"# {ch.code}: refused: {ch.refused}; {stays}.")
            if kept is not None:
                lines.append(f"{ch.code} = {kept}")
            continue
        f = ch.figures or {}
        lines.append(f"# {ch.code}: {ch.positives} labelled rows, {ch.negatives} without. "
                     f"precision {_fig(f['precision'])}, recall {_fig(f['recall'])}, "
                     f"FPR {_fig(f['fpr'])} (was {ch.previous:g})"
                     + (f"; {f['forced_false_positives']} false positives come from validated detectors"
                        if f.get("forced_false_positives") else ""))
        lines.append(f"{ch.code} = {ch.threshold:.5f}")
    for role in Role:
        lines += ["", f"[{role.value}]"]
        lines += [f'{code} = "{base.action(role, code).value}"' for code in CATEGORY_CODES]
    return "\n".join(lines) + "\n"


def _fig(f: Mapping[str, Any]) -> str:
    iv = f["interval"]
    return f"{f['value']:.3f} [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else f"{f['value']:.3f}"


def calibrate_file(options: CalibrateOptions, make_guard: Callable[[], Guard]) -> list[Choice]:
    """Read, judge, choose, write the policy file; return the choices."""
    if (options.target_precision is None) == (options.max_fpr is None):
        raise GuardError("give one of --target-precision and --max-fpr")
    if options.target_precision is not None and not 0.0 < options.target_precision <= 1.0:
        raise GuardError("--target-precision must be in (0, 1]")
    if options.max_fpr is not None and not 0.0 <= options.max_fpr < 1.0:
        raise GuardError("--max-fpr must be in [0, 1)")
    if options.bootstrap < 1 or not 0.0 < options.confidence < 1.0:
        raise GuardError("--bootstrap must be at least 1 and --confidence in (0, 1)")
    if options.output.exists() and options.output.resolve() == options.input.resolve():
        raise GuardError(f"{options.output} is the input file: choose another output")
    rows = load_rows(options.input, encoding=options.encoding)
    guard = make_guard()
    scored = score_rows(guard, rows)
    choices = choose(scored, options)
    m = model_summary(guard)
    goal = (f"--target-precision {options.target_precision:g}" if options.target_precision is not None
            else f"--max-fpr {options.max_fpr:g}")
    header = [
        f"Written by `kguard calibrate {options.input.name} {goal}` for model {m['name']} {m['version']} "
        f"(sha256 {m['sha256'][:12]}).",
        f"On {len(scored.rows)} rows ({int(scored.truth.any(axis=1).sum())} unsafe); "
        f"{len(scored.errors)} rows the guard refused are not counted.",
        "Each threshold meets the target with the most recall on those rows. Figures are measured on them "
        f"at the threshold, with {100 * options.confidence:g}% bootstrap intervals ({options.bootstrap} resamples, "
        f"seed {options.seed}).",
        "The thresholds were chosen on the same rows: expect new data toward the low end of each interval.",
        "Base policy: " + (str(options.policy) if options.policy else "the default") + " (masking and actions).",
    ]
    base = Policy.from_file(options.policy) if options.policy else Policy.default()
    write_text(options.output, policy_toml(choices, base, header))
    return choices
