"""The hand-labelled real-text dev set: corpus rows by reference plus rows the team wrote by hand.

Label files (training/realtext/labels/*.jsonl), one row per line:
    corpus rows:      {"ref": "file.jsonl:LINE", "sha": digest, "labels": [...], "spans": [[s, e, TYPE]]}
    hand-written:     {"id", "text", "role", "context", "labels", "spans", "register", "lang"}
Every label was read by a person against ../shared/LABELLING.md. Rows are split for good by a hash of
their id: "tune" (thresholds, model choice) and "heldout" (the final figures only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from guard.taxonomy import CATEGORY_CODES, SpanType
from training.realtext.corpora import resolve, text_digest

LABELS = Path(__file__).resolve().parent / "labels"
# Every corpus row drawn for labelling (training.realtext.sample), labelled yet or not.
DRAWN = Path(__file__).resolve().parent / "drawn_for_dev.jsonl"
HELDOUT_SHARE = 0.4
SPLITS = ("tune", "heldout")


@dataclass(frozen=True)
class DevRow:
    id: str
    text: str
    role: str
    context: str
    labels: tuple[str, ...]
    spans: tuple[tuple[int, int, str], ...]
    origin: str  # "corpus" or "handwritten"
    register: str
    split: str


def split_of(row_id: str) -> str:
    bucket = int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if bucket < HELDOUT_SHARE else "tune"


def check_labels(row_id: str, text: str, labels: Iterable[str], spans: Iterable[list[object]]) -> None:
    """Raise ValueError naming `row_id` for an unknown category or a span outside the text or of no type."""
    for code in labels:
        if code not in CATEGORY_CODES:
            raise ValueError(f"{row_id}: unknown category {code!r}")
    for s, e, kind in spans:  # type: ignore[misc]
        if not (0 <= int(s) < int(e) <= len(text)) or kind not in SpanType.__members__:
            raise ValueError(f"{row_id}: bad span {[s, e, kind]}")


def _row(raw: dict[str, object]) -> DevRow:
    labels = tuple(sorted(set(raw.get("labels") or ()), key=CATEGORY_CODES.index))  # type: ignore[arg-type]
    spans = tuple((int(s), int(e), str(k)) for s, e, k in raw.get("spans") or ())  # type: ignore[attr-defined]
    if "ref" in raw:
        ref = str(raw["ref"])
        corpus = resolve(ref)
        if text_digest(corpus.text) != raw["sha"]:
            raise ValueError(f"{ref}: the corpus row changed since it was labelled")
        check_labels(ref, corpus.text, labels, spans)
        return DevRow(ref, corpus.text, "user", "", labels, spans, "corpus", corpus.register, split_of(ref))
    row_id, text = str(raw["id"]), str(raw["text"])
    check_labels(row_id, text, labels, spans)
    return DevRow(row_id, text, str(raw.get("role") or "user"), str(raw.get("context") or ""), labels, spans,
                  "handwritten", str(raw.get("register") or ""), split_of(row_id))


def load(split: str | None = None, folder: Path = LABELS) -> list[DevRow]:
    """Every labelled row (or one split's), in file order; raises on a malformed or stale row."""
    rows: list[DevRow] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = _row(json.loads(line))
            if row.id in seen:
                raise ValueError(f"{row.id}: labelled twice")
            seen.add(row.id)
            rows.append(row)
    return [r for r in rows if split is None or r.split == split]


def excluded_refs(folder: Path = LABELS) -> set[str]:
    """Corpus references the dev set holds or was drawn for: never used in training."""
    refs: set[str] = set()
    for path in [DRAWN, *sorted(folder.glob("*.jsonl"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                ref = json.loads(line).get("ref")
                if ref:
                    refs.add(ref)
    return refs
