"""What a detector is and what it returns.

Detectors are deterministic recognizers for one identifier each (presidio's shape). They run on
normalized text and report offsets into it; the caller maps them back to the original text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from guard.taxonomy import Category, SpanType


class Validity(str, Enum):
    """Presidio's tri-state result of checking a candidate."""

    VALID = "valid"                # a check digit or library validation passed
    UNVERIFIABLE = "unverifiable"  # the shape fits but nothing can be checked (no check digit)
    INVALID = "invalid"            # the check failed: not reported as a match


@dataclass(frozen=True)
class Match:
    """One detected identifier, with offsets into the text the detector was given.

    Attributes:
        start, end: character offsets, end exclusive.
        type: what the span is.
        score: confidence in [0, 1].
        validity: VALID or UNVERIFIABLE (INVALID candidates are dropped, never returned).
        detector: the detector's name, for explanations and metrics.
    """

    start: int
    end: int
    type: SpanType
    score: float
    validity: Validity
    detector: str

    @property
    def category(self) -> Category:
        return self.type.category


class Detector(Protocol):
    """One recognizer: `find` returns every match in `text`, never raises on "no match"."""

    name: str
    span_type: SpanType

    def find(self, text: str) -> list[Match]: ...
