"""OnnxEngine.predict with a pacer (guard.engine.base.Pacer): a long text computed in slices of at most
`pacer.max_batch_tokens` padded tokens, `before_run()` called before each, and a raise there stops it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guard.config import EngineConfig
from guard.engine.base import EngineInput
from guard.engine.onnx import OnnxEngine

LONG = " ".join(["hello world 오늘 날씨 좋다 call me 010-1234-5678 주민번호"] * 200)  # many windows


class Stop(Exception):
    pass


class CountingPacer:
    def __init__(self, max_batch_tokens: int, stop_at: int | None = None) -> None:
        self.max_batch_tokens = max_batch_tokens
        self.calls = 0
        self.stop_at = stop_at

    def before_run(self) -> None:
        self.calls += 1
        if self.stop_at is not None and self.calls >= self.stop_at:
            raise Stop


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> OnnxEngine:
    return OnnxEngine(EngineConfig(model_dir=tiny_model_dir))


def test_a_paced_predict_runs_in_slices_and_gives_the_same_answer(engine: OnnxEngine) -> None:
    windows = len(engine.encoder.windows(EngineInput(LONG)))
    width = max(len(w.input_ids) for w in engine.encoder.windows(EngineInput(LONG)))
    pacer = CountingPacer(max_batch_tokens=4 * width)  # four windows a slice
    paced = engine.predict([EngineInput(LONG)], pacer=pacer)[0]
    plain = engine.predict([EngineInput(LONG)])[0]
    assert pacer.calls >= -(-windows // 4) > 1  # (the last, shorter window may get a slice of its own)
    assert paced.spans == plain.spans
    assert np.allclose([paced.scores[c] for c in paced.scores], [plain.scores[c] for c in plain.scores])


def test_a_pacer_that_raises_stops_the_predict_before_the_next_slice(engine: OnnxEngine) -> None:
    width = max(len(w.input_ids) for w in engine.encoder.windows(EngineInput(LONG)))
    pacer = CountingPacer(max_batch_tokens=width, stop_at=3)
    with pytest.raises(Stop):
        engine.predict([EngineInput(LONG)], pacer=pacer)
    assert pacer.calls == 3  # two slices computed, the third never started
