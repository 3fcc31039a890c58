"""Training rows the team wrote by hand (training/data/written/*.jsonl).

Templates teach the model our sentence shapes; these rows teach it the ones people really type: requests
to find a private person, disclosures about family and coworkers, everyday first-person disclosures of
every sensitive category, English and mixed text, identifiers written out in words, assistant answers
judged with their user turn, and hard negatives on the same words. Every label was read by a person
against ../shared/LABELLING.md. One row per line, the dev set's hand-written format:
    {"text", "role", "context", "labels", "spans": [[start, end, TYPE]], "register", "lang", "note"}
They join the train split only, and none of them is in the real-text dev set (tests/training/test_written.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from training.realtext.devset import check_labels

WRITTEN = Path(__file__).resolve().parent / "data" / "written"
#: Each row is seen this many times per epoch: a few thousand natural rows beside ~50,000 generated ones.
REPEAT = 2

Row = dict[str, object]


def _checked(raw: dict[str, object], where: str) -> Row:
    text, context = str(raw["text"]), str(raw.get("context") or "")
    role = str(raw.get("role") or "user")
    labels = list(raw.get("labels") or [])  # type: ignore[call-overload]
    spans = [[int(s), int(e), str(t)] for s, e, t in raw.get("spans") or []]  # type: ignore[attr-defined]
    if role not in ("user", "assistant") or (role == "user" and context):
        raise ValueError(f"{where}: bad role or context")
    check_labels(where, text, labels, spans)  # type: ignore[arg-type]
    return {"text": text, "role": role, "context": context, "lang": str(raw.get("lang") or "ko"),
            "labels": labels, "spans": spans, "register": str(raw.get("register") or "")}


def load(folder: Path = WRITTEN) -> list[Row]:
    """Every hand-written row, checked; raises ValueError naming the file and line of a bad one."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                rows.append({**_checked(json.loads(line), f"{path.name}:{n}"), "file": path.stem})
    return rows


def training_rows(folder: Path = WRITTEN) -> list[Row]:
    """The rows in the generator's row format, each REPEAT times."""
    out = []
    for row in load(folder):
        generated = {"text": row["text"], "role": row["role"], "context": row["context"], "lang": row["lang"],
                     "labels": row["labels"], "spans": row["spans"], "kind": "written",
                     "family": f"written:{row['file']}", "split": "train", "obfuscated": False}
        out += [generated] * REPEAT
    return out
