"""Fusion: what the detectors and the model found, under resolved Rules, becomes a Verdict.

The finish phase of the pipeline (guard._pipeline): the model's spans go through the identifier rules
(guard.detectors.retype), detector and model scores are fused, each judged category is flagged when its
score passes its threshold or a validated detector found it, and the Rules decide the action and what is
masked (Rules.masks, the one masking rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from guard.detectors.base import Match, Validity
from guard.detectors.retype import checked_type, rejected
from guard.engine.base import EngineOutput, ModelSpan
from guard.normalize import Normalized
from guard.policy import Rules
from guard.taxonomy import CATEGORY_CODES, Role
from guard.verdict import Action, Span, Verdict


@dataclass(frozen=True)
class Evidence:
    """What the detectors and the model found in one text, in normalized coordinates."""

    normalized: Normalized
    role: Role
    matches: Sequence[Match]
    model_scores: Mapping[str, float] | None = None
    model_spans: Sequence[ModelSpan] = ()


def decide(evidence: Evidence, rules: Rules, *, model_thresholds: Mapping[str, float] | None = None,
           hmac_key: bytes | None = None) -> Verdict:
    """Fuse detector and model evidence under resolved rules into a Verdict (offsets into the original)."""
    scores = _fused_scores(evidence)
    validated = {m.category.value for m in evidence.matches if m.validity is Validity.VALID}
    flagged: dict[str, Action] = {}
    for code, action in rules.actions.items():
        passed = scores[code] >= rules.threshold(code, model_thresholds) or code in validated
        if passed and action is not Action.ALLOW:
            flagged[code] = action
    spans = _spans(evidence, flagged)
    categories = sorted(flagged, key=lambda c: (-scores[c], c))
    action = max(flagged.values(), key=lambda a: a.rank, default=Action.ALLOW)
    masked = rules.mask(evidence.normalized.original, spans, hmac_key) if rules.return_masked else None
    return Verdict(
        safe=not flagged,
        categories=categories,
        scores={c: round(scores[c], 4) for c in CATEGORY_CODES},
        spans=spans if rules.return_spans else [],
        action=action.value,
        masked=masked,
        role=rules.role.value,
    )


def _fused_scores(evidence: Evidence) -> dict[str, float]:
    scores = {c: float((evidence.model_scores or {}).get(c, 0.0)) for c in CATEGORY_CODES}
    for m in evidence.matches:
        code = m.category.value
        scores[code] = max(scores[code], m.score)
    return scores


def _spans(evidence: Evidence, flagged: Mapping[str, Action]) -> list[Span]:
    """Detector spans of flagged categories, then model spans that overlap none of them."""
    norm = evidence.normalized
    out: list[Span] = []
    for m in evidence.matches:
        if m.category.value in flagged:
            start, end = norm.to_original(m.start, m.end)
            out.append(Span(start, end, m.type.value, m.category.value, round(m.score, 4), "detector"))
    taken = [(s.start, s.end) for s in out]
    for ms in evidence.model_spans:
        code = ms.type.category.value
        if code not in flagged:
            continue
        start, end = norm.to_original(ms.start, ms.end)
        if start >= end or any(start < e and s < end for s, e in taken):
            continue
        out.append(Span(start, end, ms.type.value, code, round(ms.score, 4), "model"))
    return sorted(out, key=lambda s: (s.start, s.end))


def validated_model_evidence(text: str, output: EngineOutput, matches: Sequence[Match],
                              ) -> tuple[list[ModelSpan], dict[str, float]]:
    """The model's spans through the identifier rules, and its scores with what the rules ruled out.

    A category whose only identifier evidence is model spans the validators reject (a company number
    tagged RRN, a 1588 line tagged PHONE) is not flagged on the model's word: its score drops to 0.
    """
    kept: list[ModelSpan] = []
    rejected_codes: set[str] = set()
    for s in output.spans:
        value = text[s.start:s.end]
        kind = checked_type(s.type, value)
        if rejected(kind, value):
            rejected_codes.add(kind.category.value)
        else:
            kept.append(replace(s, type=kind))
    supported = {s.type.category.value for s in kept} | {m.category.value for m in matches}
    scores = dict(output.scores)
    for code in rejected_codes - supported:
        scores[code] = 0.0
    return kept, scores


__all__ = ["Evidence", "decide", "validated_model_evidence"]
