"""NullEngine: no model at all, for detectors-only guards (every category score 0, no spans)."""

from __future__ import annotations

from collections.abc import Sequence

from guard.engine.base import EngineInput, EngineOutput, ModelInfo, Pacer
from guard.taxonomy import CATEGORY_CODES


class NullEngine:
    """An Engine that never flags anything; validated detectors still do."""

    def __init__(self) -> None:
        self.info = ModelInfo(name="none", version="0", sha256="", quant="none", provider="none",
                              max_length=0, categories=CATEGORY_CODES, thresholds={})

    def predict(self, inputs: Sequence[EngineInput], *, pacer: Pacer | None = None) -> list[EngineOutput]:
        if pacer is not None:
            pacer.before_run()
        return [EngineOutput(scores=dict.fromkeys(CATEGORY_CODES, 0.0)) for _ in inputs]

    def count_tokens(self, text: str) -> int:
        return len(text)

    def warmup(self) -> None:
        """Nothing to warm up."""
