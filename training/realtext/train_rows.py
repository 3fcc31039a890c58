"""Training rows from real text (../shared/corpora), three ways (training split only):

- benign negatives: pool rows the shipped guard did not flag and that carry no topic hint, plus flagged
  rows a person read and labelled (training.realtext.pool);
- carriers: a generated row (unsafe or safe), and each person-labelled real disclosure, set among one to
  three real sentences, so the model learns the disclosure, not the template around it;
- passages: real multi-sentence passages cut into window-sized pieces, each as it is and again
  (PLANTS_PER_PIECE times) with one unsafe row planted at a sentence boundary, half the time a
  person-labelled real disclosure rather than a generated one (long text must not dilute a disclosure, a
  first-person line among news sentences is still a disclosure, and benign sentences must not add up to
  a flag).
No row of the dev set, and no passage that contains one of its sentences, is used.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from training.realtext.corpora import SENTENCE_GAP, CorpusRow, all_rows, resolve
from training.realtext.devset import excluded_refs
from training.realtext.pool import ROUNDS, labelled_trainpool, rechecked, unflagged

Row = dict[str, object]
PIECE_CHARS = (150, 420)
UNSAFE_REPEAT = 3
REAL_PLANT_SHARE = 0.5  # of planted rows, the share drawn from person-labelled real disclosures
#: Each passage piece comes again this many times with a disclosure planted (0.3 pieces in 1 until run 32:
#: disclosures lost among news sentences in long documents were the last target missed).
PLANTS_PER_PIECE = 2
#: Real benign rows drawn from the negatives (12,000 until run 33: lone false alarms on ordinary news and
#: review rows were what flagged heldout's long documents; the pool holds about 170,000).
N_BENIGN = 24000


def _row(text: str, kind: str, family: str, labels: list[str] | None = None,
         spans: list[list[object]] | None = None, role: str = "user") -> Row:
    return {"text": text, "role": role, "context": "", "lang": "ko", "labels": labels or [],
            "spans": spans or [], "kind": kind, "family": family, "split": "train", "obfuscated": False}


def benign_pool() -> tuple[list[CorpusRow], list[Row]]:
    """(unflagged rows without topic hints and unread, person-labelled rows as training rows)."""
    read = labelled_trainpool()
    benign = [row for round_ in ROUNDS for row in unflagged(round_) if row.ref not in read]
    labelled = []
    for ref, raw in read.items():
        row = resolve(ref)
        labelled.append(_row(row.text, "real_labelled", f"real:{ref.split(':')[0]}", list(raw["labels"]),
                             [list(s) for s in raw.get("spans") or []]))
    return benign, labelled


def carrier(inner: Row, around: list[str], rng: random.Random) -> Row:
    """`inner` set among real sentences; its spans shift with it."""
    before = around[: rng.randint(0, len(around))]
    after = around[len(before):]
    prefix = " ".join(before) + (" " if before else "")
    text = prefix + str(inner["text"]) + (" " if after else "") + " ".join(after)
    spans = [[int(s) + len(prefix), int(e) + len(prefix), t] for s, e, t in inner["spans"]]  # type: ignore[attr-defined]
    focus = [len(prefix), len(prefix) + len(str(inner["text"]))]
    return {**inner, "text": text, "spans": spans, "kind": f"carrier:{inner['kind']}",
            "family": f"carrier:{inner['family']}", "focus": focus}


def passage_pieces(dev_texts: set[str], rng: random.Random) -> Iterator[str]:
    """Sentence-aligned pieces of real passages without topic hints, without any dev sentence and
    without a sentence the recheck flagged (training.realtext.pool)."""
    skip = rechecked()
    for row in all_rows():
        if not row.passage or row.topics or row.ref in skip or any(t in row.text for t in dev_texts):
            continue
        sentences = [s.strip() for s in SENTENCE_GAP.split(row.text) if s.strip()]
        piece: list[str] = []
        target = rng.randint(*PIECE_CHARS)
        for s in sentences:
            piece.append(s)
            if sum(len(p) + 1 for p in piece) >= target:
                yield " ".join(piece)
                piece, target = [], rng.randint(*PIECE_CHARS)
        if piece:
            yield " ".join(piece)


def real_rows(generated: list[Row], seed: int, n_benign: int = N_BENIGN, n_carriers: int = 5000,
              n_pieces: int = 3000, plants_per_piece: int = PLANTS_PER_PIECE) -> list[Row]:
    rng = random.Random(f"{seed}:real")
    benign, labelled = benign_pool()
    dev = excluded_refs()
    dev_texts = {resolve(ref).text for ref in dev if len(resolve(ref).text) >= 25}
    # a person-labelled real disclosure is rare and worth more than a template: each is seen three times
    out: list[Row] = [r for r in labelled for _ in range(UNSAFE_REPEAT if r["labels"] else 1)]
    for row in rng.sample(benign, min(n_benign, len(benign))):
        role = "assistant" if rng.random() < 0.2 else "user"  # real prose also comes back as answers
        out.append(_row(row.text, "real_benign", f"real:{row.ref.split(':')[0]}", role=role))
    short = [r.text for r in benign if len(r.text) <= 160]
    user_rows = [g for g in generated if g["role"] == "user"]
    real_unsafe = [r for r in labelled if r["labels"] and len(str(r["text"])) <= 200]
    for inner in rng.sample(user_rows, min(n_carriers, len(user_rows))) + real_unsafe:
        out.append(carrier(inner, rng.sample(short, rng.randint(1, 3)), rng))
    generated_unsafe = [g for g in user_rows if g["labels"] and len(str(g["text"])) <= 200]
    pieces = list(passage_pieces(dev_texts, rng))
    for text in rng.sample(pieces, min(n_pieces, len(pieces))):
        out.append(_row(text, "real_passage", "real:passage"))
        for _ in range(plants_per_piece):  # the same piece again, with a disclosure: only the disclosure differs
            unsafe = real_unsafe if real_unsafe and rng.random() < REAL_PLANT_SHARE else generated_unsafe
            sentences = text.split(". ")
            cut = rng.randint(0, len(sentences))
            before = ". ".join(sentences[:cut]) + (". " if cut else "")
            after = (" " if cut < len(sentences) else "") + ". ".join(sentences[cut:])
            out.append(carrier(rng.choice(unsafe), [before.strip()] if before.strip() else [], rng)
                       if not after.strip() else _plant(rng.choice(unsafe), before, after))
    rng.shuffle(out)
    return out


def _plant(inner: Row, before: str, after: str) -> Row:
    text = before + str(inner["text"]) + after
    spans = [[int(s) + len(before), int(e) + len(before), t] for s, e, t in inner["spans"]]  # type: ignore[attr-defined]
    focus = [len(before), len(before) + len(str(inner["text"]))]
    return {**inner, "text": text, "spans": spans, "kind": f"planted:{inner['kind']}",
            "family": f"planted:{inner['family']}", "focus": focus}
