"""Token tags -> character spans: the one decoding shared by the engine and training's evaluation.

- BIO runs: a B- opens a span; an I- continues the open span whatever its type (a digit run cut into
  pieces is one value even when the pieces disagree), or opens one when none is open. The span's type
  is the one covering most characters.
- Edges: a SentencePiece token's offsets include the space before the word ("▁김" covers " 김"), and
  pieces like "(010" glue a bracket to the value, so whitespace and brackets/punctuation are trimmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guard.taxonomy import SpanType

_EDGE = " \t\n()[]{}<>\"'.,:;!?"
_EDGE_CREDENTIAL = " \t\n"  # a password may end in "!" or ")"


@dataclass(frozen=True)
class TaggedToken:
    """One text token's decoded tag: (is_begin, type) or None for "O", its offsets and probability."""

    tag: tuple[bool, SpanType] | None
    start: int
    end: int
    prob: float = 1.0


def decode_spans(text: str, tokens: Sequence[TaggedToken]) -> list[tuple[int, int, SpanType, float]]:
    """(start, end, type, mean token probability) for every BIO run, edges trimmed, in order."""
    runs: list[list[TaggedToken]] = []
    open_run = False
    for token in tokens:
        if token.tag is None:
            open_run = False
            continue
        if token.tag[0] or not open_run:
            runs.append([])
        runs[-1].append(token)
        open_run = True
    spans = []
    for run in runs:
        kind = _majority_type(run)
        start, end = trim_edges(text, run[0].start, run[-1].end, kind)
        if start < end:
            spans.append((start, end, kind, sum(t.prob for t in run) / len(run)))
    return spans


def trim_edges(text: str, start: int, end: int, kind: SpanType) -> tuple[int, int]:
    """The span without surrounding whitespace and brackets (only whitespace for credentials)."""
    edge = _EDGE_CREDENTIAL if kind is SpanType.CREDENTIAL else _EDGE
    while start < end and text[start] in edge:
        start += 1
    while end > start and text[end - 1] in edge:
        end -= 1
    return start, end


def _majority_type(run: Sequence[TaggedToken]) -> SpanType:
    weight: dict[SpanType, int] = {}
    for token in run:
        assert token.tag is not None
        weight[token.tag[1]] = weight.get(token.tag[1], 0) + (token.end - token.start)
    return max(weight, key=weight.__getitem__)
