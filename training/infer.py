"""Scoring rows with an exported graph, for threshold selection, the fp32/int8 parity check and evaluation.

There is one inference path: the runtime's own OnnxEngine (guard.engine.onnx). Rows are scored by
`OnnxEngine.predict`, so the windows (sentence windows included), the merge over windows (category
score = maximum, a token's tag from the window where it sits farthest from a cut) and the BIO decoding
are the shipped guard's; thresholds, parity and the "model alone" figures come from what serves.
A graph that is not in a model folder yet (export's fp32 and int8 graphs in training/work/onnx) is
scored through a scratch folder that holds it with the tokenizer and a labels.json (`graph_engine`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from guard.config import EngineConfig
from guard.engine.base import EngineInput
from guard.engine.labels import LABELS_FILE, read_labels, write_labels
from guard.engine.onnx import MODEL_FILE, TOKENIZER_FILE, OnnxEngine
from guard.engine.runtime import ort
from guard.engine.tokenize import TextEncoder
from guard.engine.tuning import SessionTuning
from guard.taxonomy import CATEGORY_CODES, Role

#: Rows per engine call: the engine buckets their windows itself; this only bounds memory.
_ROWS_PER_CALL = 256


@dataclass(frozen=True)
class Scored:
    """Model output for one row: category probabilities (CATEGORY_CODES order) and predicted
    (start, end, type) spans."""

    probs: np.ndarray
    spans: tuple[tuple[int, int, str], ...]


def engine(model_dir: Path, threads: int = 2) -> OnnxEngine:
    """The runtime's engine on a model folder, on CPU with `threads` intra-op threads."""
    return OnnxEngine(EngineConfig(model_dir=Path(model_dir), intra_op_num_threads=threads,
                                   providers=("CPUExecutionProvider",)))


def graph_engine(graph: Path, tokenizer: Path, labels: dict[str, Any], threads: int = 2) -> OnnxEngine:
    """The runtime's engine on a bare graph: a scratch folder links the graph and the tokenizer and holds
    `labels` (the engine reads everything it needs while it loads, so the folder goes right after)."""
    with tempfile.TemporaryDirectory(prefix="kguard-score-") as tmp:
        folder = Path(tmp)
        (folder / MODEL_FILE).symlink_to(Path(graph).resolve())
        (folder / TOKENIZER_FILE).symlink_to(Path(tokenizer).resolve())
        write_labels(folder / LABELS_FILE, labels)
        return engine(folder, threads)


def model_folder(model_dir: Path) -> tuple[dict[str, Any], TextEncoder]:
    """An exported folder's labels.json (read by guard's one reader) and the TextEncoder the runtime
    builds from it."""
    return read_labels(Path(model_dir) / LABELS_FILE), engine(model_dir, threads=1).encoder


def session(path: Path, threads: int = 2) -> ort.InferenceSession:
    """A bare onnxruntime session with the engine's options, for timing session.run alone
    (training.evaluate's latency figures); scoring goes through `score_rows`."""
    tuning = SessionTuning.of(EngineConfig(intra_op_num_threads=threads))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"], **tuning.session_kwargs())


def score_rows(scorer: OnnxEngine, rows: Sequence[dict[str, object]]) -> list[Scored]:
    """Score rows ({"text", "role", "context"}) with the engine, as the guard's model pass does."""
    out: list[Scored] = []
    for start in range(0, len(rows), _ROWS_PER_CALL):
        part = rows[start:start + _ROWS_PER_CALL]
        inputs = [EngineInput(str(r["text"]), Role(str(r["role"])), str(r.get("context") or "")) for r in part]
        for output in scorer.predict(inputs):
            probs = np.array([output.scores[c] for c in CATEGORY_CODES], dtype=np.float32)
            spans = tuple(sorted((s.start, s.end, s.type.value) for s in output.spans))
            out.append(Scored(probs, spans))
    return out
