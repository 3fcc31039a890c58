"""Read ../shared/corpora by reference: a row is named `file.jsonl:LINE` (0-based line number)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
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
    """The row a reference names; KeyError when the file or line does not exist."""
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
