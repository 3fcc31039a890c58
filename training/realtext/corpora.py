"""Read ../shared/corpora by reference: a row is named `file.jsonl:LINE` (0-based line number), a part of
one (a passage's sentence) `file.jsonl:LINE#START-END` (character offsets in the row's text)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

CORPORA = Path(os.environ.get("KGUARD_CORPORA", Path(__file__).resolve().parents[2].parent / "shared" / "corpora"))


@dataclass(frozen=True)
class CorpusRow:
    ref: str
    text: str
    register: str
    license: str
    passage: bool
    topics: tuple[str, ...]


def corpus_files(root: Path = CORPORA) -> list[Path]:
    return sorted(root.glob("*.jsonl"))


@lru_cache(maxsize=64)
def read_file(path: Path) -> tuple[CorpusRow, ...]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            raw = json.loads(line)
            rows.append(CorpusRow(ref=f"{path.name}:{i}", text=raw["text"], register=raw["register"],
                                  license=raw["license"], passage=raw.get("kind") == "passage",
                                  topics=tuple(raw.get("topics", ()))))
    return tuple(rows)


def all_rows(root: Path = CORPORA) -> list[CorpusRow]:
    return [row for path in corpus_files(root) for row in read_file(path)]


def resolve(ref: str, root: Path = CORPORA) -> CorpusRow:
    """The row or part of a row a reference names; KeyError when the file, line or range does not exist."""
    whole, _, part = ref.partition("#")
    row = _resolve_row(whole, root)
    if not part:
        return row
    start, end = (int(x) for x in part.split("-"))
    if not 0 <= start < end <= len(row.text):
        raise KeyError(f"no characters {part} in {whole}")
    return replace(row, ref=ref, text=row.text[start:end], passage=False)


def _resolve_row(ref: str, root: Path) -> CorpusRow:
    name, _, line = ref.rpartition(":")
    path = root / name
    if not path.is_file():
        raise KeyError(f"corpus file not found: {name}")
    rows = read_file(path)
    index = int(line)
    if not 0 <= index < len(rows):
        raise KeyError(f"no line {index} in {name}")
    return rows[index]


def text_digest(text: str) -> str:
    """A short digest stored beside a reference, so a changed corpus row is noticed, not mislabelled."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


#: where one sentence of a corpus row ends and the next begins
SENTENCE_GAP = re.compile(r"(?<=[.!?。])\s+|\n+")


def sentences(row: CorpusRow, min_chars: int = 20) -> list[CorpusRow]:
    """The row's sentences as parts of it (`ref#START-END`); a sentence shorter than `min_chars` is joined
    with the next, because a fragment alone often says nothing."""
    out: list[CorpusRow] = []
    start = 0
    gaps = [m.span() for m in SENTENCE_GAP.finditer(row.text)] + [(len(row.text), len(row.text))]
    for gap_start, gap_end in gaps:
        if gap_start - start >= min_chars or gap_start == len(row.text):
            if row.text[start:gap_start].strip():
                out.append(replace(row, ref=f"{row.ref}#{start}-{gap_start}", text=row.text[start:gap_start],
                                   passage=False))
            start = gap_end
    return out
