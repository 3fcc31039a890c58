"""The engine contract: texts in, per-category scores and span predictions out.

An engine knows tokenizers and ONNX, nothing of policies, batchers or gRPC. It works on
normalized text and reports span offsets into that text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from guard.taxonomy import Role, SpanType
from guard.verdict import ModelInfo

__all__ = ["Engine", "EngineInput", "EngineOutput", "ModelInfo", "ModelSpan", "Pacer"]


@dataclass(frozen=True)
class EngineInput:
    """One text to judge.

    Attributes:
        text: the (normalized) text judged; spans point into it.
        role: whose text it is.
        context: for role assistant, the prompt before the answer (may be empty).
    """

    text: str
    role: Role = Role.USER
    context: str = ""


@dataclass(frozen=True)
class ModelSpan:
    """A span the model tagged, offsets into EngineInput.text."""

    start: int
    end: int
    type: SpanType
    score: float


@dataclass(frozen=True)
class EngineOutput:
    """What the model says about one input.

    Attributes:
        scores: sigmoid probability per category code, every code present.
        spans: tagged spans, ordered by start.
    """

    scores: dict[str, float]
    spans: list[ModelSpan] = field(default_factory=list)


class Pacer(Protocol):
    """Paces one `predict` call that computes a long text in slices (the batcher's long-text lane).

    Attributes:
        max_batch_tokens: the most padded tokens per model call of this predict (a slice).
    """

    max_batch_tokens: int

    def before_run(self) -> None:
        """Called before every model call: may wait for the caller's turn, or raise (the caller has
        gone, its deadline passed) to stop the predict between slices."""


class Engine(Protocol):
    """Runs the model on a batch. `predict` returns one output per input, in order; with a `pacer` it
    calls `pacer.before_run()` before each model call (engines without slices call it once). The engine
    sorts what it computes by token length (the batcher above it does not sort): `count_tokens` is the
    measure. `warmup` runs once before serving, off the event loop."""

    info: ModelInfo

    def predict(self, inputs: Sequence[EngineInput], *, pacer: Pacer | None = None,
                ) -> list[EngineOutput]: ...

    def count_tokens(self, text: str) -> int: ...

    def warmup(self) -> None: ...
