"""Long documents for the dilution test, built only from labelled dev rows (seeded).

Benign documents join real sentences that the labellers marked safe until at least `min_chars`;
planted documents are benign documents with one labelled unsafe user message put in at a sentence
boundary. A planted disclosure counts as caught when one of its own categories is flagged.

The recorded figures use 100 benign documents and one planting per disclosure; `scale` multiplies
both for steadier figures on tune (one benign document is 1% of 100).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from training.realtext.devset import DevRow

CARRIER_REGISTERS = ("news", "report", "encyclopedia", "government", "review", "mixed", "translated")


@dataclass(frozen=True)
class LongDoc:
    text: str
    labels: tuple[str, ...]  # the planted row's categories; empty for a benign document
    planted_id: str = ""
    parts: tuple[str, ...] = ()  # a benign document's rows, in order


def join_texts(texts: list[str], n: int, min_chars: int = 1500, seed: int = 7) -> list[list[str]]:
    """`n` documents, each the texts (seeded order) it joins with spaces to at least `min_chars`."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        parts: list[str] = []
        for text in rng.sample(texts, len(texts)):
            parts.append(text)
            if len(" ".join(parts)) >= min_chars:
                break
        docs.append(parts)
    return docs


def benign_docs(rows: list[DevRow], n: int, min_chars: int = 1500, seed: int = 7) -> list[LongDoc]:
    pool = [r.text for r in rows if r.origin == "corpus" and not r.labels and r.register in CARRIER_REGISTERS
            and len(r.text) >= 20]
    return [LongDoc(" ".join(parts), (), parts=tuple(parts)) for parts in join_texts(pool, n, min_chars, seed)]


def planted_docs(rows: list[DevRow], carriers: list[LongDoc], seed: int = 11) -> list[LongDoc]:
    """One document per unsafe user row, each in a carrier taken in turn, at a random sentence gap."""
    rng = random.Random(seed)
    unsafe = [r for r in rows if r.labels and r.role == "user"]
    docs = []
    for k, row in enumerate(unsafe):
        sentences = carriers[k % len(carriers)].text.split(" ")
        # split on spaces only to find a gap; rejoin on the same spaces so the carrier text is unchanged
        gaps = [i + 1 for i, w in enumerate(sentences[:-1]) if w.endswith((".", "!", "?", "다"))] or [0]
        at = rng.choice(gaps)
        text = " ".join([*sentences[:at], row.text, *sentences[at:]])
        docs.append(LongDoc(text, row.labels, row.id))
    return docs


def long_documents(rows: list[DevRow], scale: int = 1, n_benign: int = 100,
                   ) -> tuple[list[LongDoc], list[LongDoc], list[DevRow]]:
    """(benign documents, planted documents, the planted rows in the same order). Each of the `scale`
    plantings puts every unsafe row into its own share of the benign documents, with its own seed;
    scale 1 gives the recorded set."""
    if scale < 1:
        raise ValueError("scale: 1 or more")
    carriers = benign_docs(rows, n_benign * scale)
    unsafe = [r for r in rows if r.labels and r.role == "user"]
    planted: list[LongDoc] = []
    for k in range(scale):
        planted += planted_docs(rows, carriers[k * n_benign:(k + 1) * n_benign], seed=11 + k)
    return carriers, planted, unsafe * scale
