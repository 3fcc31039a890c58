"""The answers: a frozen Verdict with its Spans (offsets into the caller's original text), a streamed
answer's StreamUpdate, and the loaded model's ModelInfo. The same types in process and over gRPC."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class PseudonymStyle(str, Enum):
    """How pseudonymization replaces a category's spans (guard.pseudonymize; the policy's [pseudonymize])."""

    PLACEHOLDER = "placeholder"
    FAKE = "fake"


class Action(str, Enum):
    """What the policy says to do, from mildest to strictest."""

    ALLOW = "allow"
    FLAG = "flag"
    MASK = "mask"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Action.ALLOW: 0, Action.FLAG: 1, Action.MASK: 2, Action.BLOCK: 3}


@dataclass(frozen=True)
class Span:
    """One piece of personal data found in the text.

    Attributes:
        start, end: character offsets into the original text, end exclusive.
        type: span type name (taxonomy.SpanType value), e.g. "RRN".
        category: category code, e.g. "P1".
        score: confidence in [0, 1].
        source: "detector" (validated pattern) or "model".
    """

    start: int
    end: int
    type: str
    category: str
    score: float
    source: str


@dataclass(frozen=True)
class Verdict:
    """The guard's judgement of one text.

    Attributes:
        safe: True when no category is flagged.
        categories: flagged category codes, most confident first.
        scores: a score in [0, 1] for every category code.
        spans: found spans, ordered by start.
        action: "allow", "flag", "mask" or "block" (the strictest flagged category's action).
        masked: the text with masked spans replaced; None when masking was not asked for.
        role: the role judged.
    """

    safe: bool
    categories: list[str]
    scores: dict[str, float]
    spans: list[Span] = field(default_factory=list)
    action: str = Action.ALLOW.value
    masked: str | None = None
    role: str = "user"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StreamUpdate:
    """What one chunk of a streamed answer (or the end of the stream) releases (guard.stream).

    Attributes:
        text: newly released text, masked per the policy; append it to what was shown so far.
        start: offset of `text` in the whole answer.
        spans: flagged spans inside `text`, offsets into the whole answer.
        held: characters received but not released yet.
        blocked: the policy blocked the answer; nothing more is released.
        verdict: the whole answer's verdict, on the last update only.
    """

    text: str
    start: int
    spans: list[Span] = field(default_factory=list)
    held: int = 0
    blocked: bool = False
    verdict: Verdict | None = None


@dataclass(frozen=True)
class ModelInfo:
    """What is loaded, for GetModelInfo and the model info metric."""

    name: str
    version: str
    sha256: str
    quant: str
    provider: str
    max_length: int
    categories: tuple[str, ...]
    thresholds: dict[str, float]
    files: dict[str, str] = field(default_factory=dict)  # every file of the model folder -> sha256 hex


__all__ = ["Action", "ModelInfo", "PseudonymStyle", "Span", "StreamUpdate", "Verdict"]
