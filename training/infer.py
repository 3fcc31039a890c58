"""Scoring generated rows with an exported ONNX graph, for threshold selection, parity and evaluation.

Windows come from guard.engine.tokenize.TextEncoder exactly as at serving time; a row's category
score is the maximum over its windows, and token tags are decoded back to character spans (BIO).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from guard.engine.base import EngineInput
from guard.engine.tags import TaggedToken, decode_spans
from guard.engine.tokenize import TextEncoder, Window, pad_batch
from guard.taxonomy import TAGS, Role, SpanType


@dataclass(frozen=True)
class Scored:
    """Model output for one row: category probabilities and predicted (start, end, type) spans."""

    probs: np.ndarray
    spans: tuple[tuple[int, int, str], ...]


def model_folder(model_dir: Path) -> tuple[dict[str, Any], TextEncoder]:
    """An exported folder's labels.json and the TextEncoder its window settings describe."""
    labels = json.loads((model_dir / "labels.json").read_text())
    encoder = TextEncoder.from_file(model_dir / "tokenizer.json", max_length=labels["max_length"],
                                    stride=labels["stride"], context_tokens=labels["context_tokens"])
    return labels, encoder


def session(path: Path, threads: int = 2) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


_TAG = tuple(None if t == "O" else (t.startswith("B-"), SpanType(t[2:])) for t in TAGS)


def decode_tags(text: str, tag_ids: Sequence[int], offsets: Sequence[tuple[int, int]],
                ) -> list[tuple[int, int, str]]:
    """BIO tag ids of a window's text tokens -> (start, end, type) spans, decoded as the runtime does."""
    tokens = [TaggedToken(_TAG[int(t)], a, b) for t, (a, b) in zip(tag_ids, offsets, strict=True)]
    return [(start, end, kind.value) for start, end, kind, _ in decode_spans(text, tokens)]


def score_rows(sess: ort.InferenceSession, encoder: TextEncoder, rows: Sequence[dict[str, object]],
               batch: int = 32) -> list[Scored]:
    """Score rows ({"text", "role", "context"}) in length-sorted batches."""
    items: list[tuple[int, Window]] = []
    for r, row in enumerate(rows):
        item = EngineInput(str(row["text"]), Role(str(row["role"])), str(row.get("context") or ""))
        items += [(r, w) for w in encoder.windows(item)]
    items.sort(key=lambda t: len(t[1].input_ids))
    probs = np.zeros((len(rows), 14), dtype=np.float32)
    spans: list[set[tuple[int, int, str]]] = [set() for _ in rows]
    names = {i.name for i in sess.get_inputs()}
    for s in range(0, len(items), batch):
        chunk = items[s:s + batch]
        ids, mask = pad_batch([w for _, w in chunk], encoder.pad_id)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        cat_logits, tag_logits = sess.run(["category_logits", "tag_logits"], feed)
        p = 1.0 / (1.0 + np.exp(-cat_logits))
        for k, (r, w) in enumerate(chunk):
            probs[r] = np.maximum(probs[r], p[k])
            tags = tag_logits[k, w.first:w.first + len(w.offsets)].argmax(-1)
            spans[r].update(decode_tags(str(rows[r]["text"]), tags.tolist(), w.offsets))
    return [Scored(probs[r], tuple(sorted(spans[r]))) for r in range(len(rows))]
