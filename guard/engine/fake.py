"""FakeEngine: an Engine from keyword rules, no onnxruntime, for tests of the batcher, policy and service.

Like httpx's MockTransport it is a real implementation of the protocol with predictable answers:
a keyword found in the text (case-sensitive substring) sets its category's score, and optionally marks
each occurrence as a span. It records every batch it sees so tests can assert that batching happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from guard.engine.base import EngineInput, EngineOutput, ModelInfo, ModelSpan, Pacer
from guard.errors import ConfigError
from guard.taxonomy import CATEGORY_CODES, SpanType

#: Default rules: keyword -> category code.
DEFAULT_RULES: dict[str, str] = {
    "주민번호": "P1",
    "계좌": "P2",
    "전화번호": "P3",
    "비밀번호": "P4",
    "password": "P4",
    "우울증": "S1",
    "전과": "S7",
}


class FakeEngineError(RuntimeError):
    """Raised by FakeEngine.predict when the `fail_on` hook says so."""


class FakeEngine:
    """Keyword rules -> scores; implements `guard.engine.base.Engine`.

    Args:
        rules: keyword -> category code; a text containing the keyword gets `hit_score` for the code.
        spans: keyword -> span type; each occurrence becomes a ModelSpan.
        hit_score: score of a category whose keyword is present.
        base_score: score of every other category.
        fail_on: called with each batch before anything else; True makes predict raise FakeEngineError.
        slice_chars: with a pacer, an input is computed in slices of this many characters, like the
            windows of a long text: `pacer.before_run()` before each, `on_slice` after each.
        on_slice: called after each slice of a paced predict (tests: a slow model, a gate).
    """

    def __init__(self, rules: Mapping[str, str] | None = None, *, spans: Mapping[str, SpanType] | None = None,
                 hit_score: float = 0.99, base_score: float = 0.01,
                 fail_on: Callable[[Sequence[EngineInput]], bool] | None = None,
                 slice_chars: int = 1000, on_slice: Callable[[], None] | None = None) -> None:
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        unknown = sorted(set(self.rules.values()) - set(CATEGORY_CODES))
        if unknown:
            raise ConfigError(f"unknown category codes in rules: {unknown}")
        self.span_rules = dict(spans or {})
        self.hit_score = hit_score
        self.base_score = base_score
        self.fail_on = fail_on
        self.slice_chars = slice_chars
        self.on_slice = on_slice
        self.slices = 0  # slices computed by paced predicts
        self.batches: list[list[EngineInput]] = []  # every batch seen, in call order
        self._lock = threading.Lock()  # predict may run on an executor thread while a test reads
        self.info = ModelInfo(name="fake", version="0", sha256="0" * 64, quant="none", provider="fake",
                              max_length=0, categories=CATEGORY_CODES,
                              thresholds={code: 0.5 for code in CATEGORY_CODES})

    @property
    def batch_sizes(self) -> list[int]:
        """The size of every batch seen, in call order."""
        with self._lock:
            return [len(b) for b in self.batches]

    @property
    def seen(self) -> list[EngineInput]:
        """Every input predicted, in call order."""
        with self._lock:
            return [item for batch in self.batches for item in batch]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def warmup(self) -> None:
        """Nothing to warm up (not recorded as a batch)."""

    def predict(self, inputs: Sequence[EngineInput], *, pacer: Pacer | None = None) -> list[EngineOutput]:
        if self.fail_on is not None and self.fail_on(inputs):
            raise FakeEngineError(f"fake engine failure on a batch of {len(inputs)}")
        if pacer is not None:
            self._paced(inputs, pacer)
        with self._lock:
            self.batches.append(list(inputs))
        return [self._one(item) for item in inputs]

    def _paced(self, inputs: Sequence[EngineInput], pacer: Pacer) -> None:
        for item in inputs:
            for _ in range(max(1, -(-len(item.text) // self.slice_chars))):
                pacer.before_run()
                with self._lock:
                    self.slices += 1
                if self.on_slice is not None:
                    self.on_slice()

    def _one(self, item: EngineInput) -> EngineOutput:
        scores = dict.fromkeys(CATEGORY_CODES, self.base_score)
        for keyword, code in self.rules.items():
            if keyword in item.text:
                scores[code] = self.hit_score
        spans: list[ModelSpan] = []
        for keyword, kind in self.span_rules.items():
            start = item.text.find(keyword)
            while start >= 0:
                spans.append(ModelSpan(start, start + len(keyword), kind, self.hit_score))
                start = item.text.find(keyword, start + len(keyword))
        spans.sort(key=lambda s: (s.start, s.end))
        return EngineOutput(scores=scores, spans=spans)
