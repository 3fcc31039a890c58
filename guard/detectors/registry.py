"""DetectorRegistry: every detector run over one normalized text, overlaps resolved.

`analyze(text)` runs each detector, then keeps the best of overlapping matches: a VALID match beats an
UNVERIFIABLE one (a card number that passes Luhn beats the account shape around it), then the longer
span (an RRN beats the phone-shaped digits inside it), then the higher score, then the earlier start.
The result is sorted by start. Detectors are independent and deterministic; the registry holds no
state between calls, so one instance serves every thread.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from guard.detectors.account import AccountDetector
from guard.detectors.base import Detector, Match, Validity
from guard.detectors.card import CardDetector
from guard.detectors.driver_license import DriverLicenseDetector
from guard.detectors.email import EmailDetector
from guard.detectors.frn import FrnDetector
from guard.detectors.passport import PassportDetector
from guard.detectors.phone import PhoneDetector
from guard.detectors.rrn import RrnDetector
from guard.detectors.secret import SecretDetector

__all__ = ["DetectorRegistry", "resolve_overlaps"]

logger = logging.getLogger(__name__)


def _rank(m: Match) -> tuple[int, int, float, int]:
    return (0 if m.validity is Validity.VALID else 1, -(m.end - m.start), -m.score, m.start)


def resolve_overlaps(matches: Iterable[Match]) -> list[Match]:
    """Keep the best match of every overlapping group (see the module docstring), sorted by start."""
    starts: list[int] = []  # the kept spans never overlap, so sorting them by start sorts their ends too
    kept: list[Match] = []
    for m in sorted(matches, key=_rank):
        if m.end <= m.start:
            continue
        i = bisect_left(starts, m.start)
        if i > 0 and kept[i - 1].end > m.start:
            continue
        if i < len(kept) and kept[i].start < m.end:
            continue
        starts.insert(i, m.start)
        kept.insert(i, m)
    return kept


class DetectorRegistry:
    """A fixed list of detectors.

    Args:
        detectors: the detectors to run, in any order (the result does not depend on it).
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors: tuple[Detector, ...] = tuple(detectors)

    @classmethod
    def default(cls) -> DetectorRegistry:
        """All shipped detectors."""
        return cls([RrnDetector(), FrnDetector(), PassportDetector(), DriverLicenseDetector(),
                    CardDetector(), AccountDetector(), PhoneDetector(), EmailDetector(), SecretDetector()])

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.detectors]

    def analyze(self, text: str) -> list[Match]:
        """Every match in `text` (normalized), overlaps resolved, sorted by start."""
        found: list[Match] = []
        for detector in self.detectors:
            found.extend(detector.find(text))
        result = resolve_overlaps(found)
        logger.debug("detectors: %d candidates, %d kept, text length %d",  # counts only, not text: noqa: privacy
                     len(found), len(result), len(text))
        return result
