"""The team's hand-written training rows: valid labels and spans, every category taught with hard
negatives beside it, and no row shared with the real-text dev set that chooses the shipped model."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from guard.taxonomy import CATEGORY_CODES
from training import written
from training.realtext import devset
from training.realtext.corpora import CORPORA

#: A written row is too close to a dev row when this share of the shorter one's 4-character pieces
#: (whitespace ignored) are also in the other: a paraphrase, not only a copy.
NEAR = 0.3
#: Dev rows shorter than this many pieces ("눈이 올 것 같습니다.") match too much by chance.
MIN_PIECES = 20


def _pieces(text: str) -> set[str]:
    squashed = re.sub(r"\s+", "", text.lower())
    return {squashed[i:i + 4] for i in range(len(squashed) - 3)}


def _dev_texts() -> list[str]:
    if CORPORA.is_dir():
        return [r.text for r in devset.load()]
    handwritten = devset.LABELS / "handwritten.jsonl"
    return [json.loads(line)["text"] for line in handwritten.read_text(encoding="utf-8").splitlines()]


def test_every_row_loads_and_every_category_has_positives_and_hard_negatives() -> None:
    rows = written.load()
    assert len(rows) >= 1500
    per_code = {code: sum(code in r["labels"] for r in rows) for code in CATEGORY_CODES}
    assert min(per_code.values()) >= 20, per_code
    safe = sum(not r["labels"] for r in rows)
    assert 0.25 <= safe / len(rows) <= 0.5


def test_no_written_row_is_in_the_dev_set_or_close_to_one() -> None:
    dev = [p for p in map(_pieces, _dev_texts()) if len(p) >= MIN_PIECES]
    holding: dict[str, list[int]] = {}
    for k, pieces in enumerate(dev):
        for piece in pieces:
            holding.setdefault(piece, []).append(k)
    near = []
    for row in written.load():
        pieces = _pieces(str(row["text"]))
        shared = Counter(k for piece in pieces for k in holding.get(piece, ()))
        if any(n / min(len(pieces), len(dev[k])) >= NEAR for k, n in shared.items()):
            near.append(str(row["text"])[:40])
    assert not near


def test_no_row_is_written_twice() -> None:
    texts = [re.sub(r"\s+", "", str(r["text"])) for r in written.load()]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("bad", [
    {"text": "저 당뇨 있어요", "labels": ["S10"]},
    {"text": "010-1234-5678", "labels": ["P3"], "spans": [[0, 14, "PHONE"]]},
    {"text": "010-1234-5678", "labels": ["P3"], "spans": [[0, 13, "TELEPHONE"]]},
    {"text": "네 알려드릴게요", "role": "user", "context": "번호 알려줘"},
])
def test_a_bad_row_is_refused_with_its_place(tmp_path: Path, bad: dict[str, object]) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="x.jsonl:1"):
        written.load(tmp_path)


def test_training_rows_keep_text_labels_and_spans(tmp_path: Path) -> None:
    row = {"text": "제 번호 010-2345-6789예요", "labels": ["P3"], "spans": [[5, 18, "PHONE"]], "lang": "ko"}
    (tmp_path / "x.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    out = written.training_rows(tmp_path)
    assert len(out) == written.REPEAT
    assert out[0]["text"] == row["text"] and out[0]["labels"] == ["P3"] and out[0]["role"] == "user"
    assert out[0]["text"][5:18] == "010-2345-6789" and out[0]["family"] == "written:x"
