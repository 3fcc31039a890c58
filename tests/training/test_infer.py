"""training.infer scores rows through the runtime's OnnxEngine: the guard's own windows, merge and
decoding, for a model folder and for a bare graph alike (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guard.engine.base import EngineInput
from guard.engine.labels import read_labels
from guard.taxonomy import CATEGORY_CODES, Role
from tests.support.tinymodel import PLAIN_WORDS
from training import infer

ROWS = [
    {"text": "hello kim minsu", "role": "user", "context": ""},
    {"text": " ".join(PLAIN_WORDS * 12) + ". kim minsu 010", "role": "assistant", "context": "question"},
    {"text": "plain", "role": "user"},
]


@pytest.fixture(scope="module")
def folder_engine(tiny_model_dir: Path) -> infer.OnnxEngine:
    return infer.engine(tiny_model_dir, threads=1)


def test_scores_are_the_engines_outputs(folder_engine: infer.OnnxEngine) -> None:
    scored = infer.score_rows(folder_engine, ROWS)
    outputs = folder_engine.predict([EngineInput(str(r["text"]), Role(str(r["role"])), str(r.get("context") or ""))
                                     for r in ROWS])
    assert len(scored) == len(ROWS)
    for s, out in zip(scored, outputs, strict=True):
        assert np.allclose(s.probs, [out.scores[c] for c in CATEGORY_CODES])
        assert s.spans == tuple(sorted((m.start, m.end, m.type.value) for m in out.spans))


def test_a_bare_graph_scores_as_its_folder(tiny_model_dir: Path, folder_engine: infer.OnnxEngine) -> None:
    labels = read_labels(tiny_model_dir / "labels.json")
    bare = infer.graph_engine(tiny_model_dir / "model.onnx", tiny_model_dir / "tokenizer.json", labels, threads=1)
    for a, b in zip(infer.score_rows(bare, ROWS), infer.score_rows(folder_engine, ROWS), strict=True):
        assert np.allclose(a.probs, b.probs) and a.spans == b.spans
    encoder_labels, encoder = infer.model_folder(tiny_model_dir)
    assert encoder_labels == labels and encoder.pad_id == folder_engine.encoder.pad_id
