"""No catastrophic backtracking: the normalizer, every detector and the registry stay linear in the text.

Each pathological input is a unit repeated (runs of digits and separators, "@" and dots, key prefixes,
keywords, Hangul numerals, combining marks...). We time the same work at n and 8n characters in the same
run, on the same machine, and compare the two: linear work grows about 8 times, quadratic work 64 times.
The bound (24x) sits far from both, the sizes are above every bounded repetition in the patterns
(2,000-4,000 characters), and a ratio over the bound is measured again with more repetitions before the
test fails, so a noisy neighbour on a shared machine does not fail it. No absolute time is asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from guard.detectors.registry import DetectorRegistry
from guard.normalize import normalize

REGISTRY = DetectorRegistry.default()
N = 6_000          # characters at the small size; the large size is 8 * N
GROWTH = 8
BOUND = 24.0       # linear: ~8, quadratic: ~64

UNITS = {
    "digits": "0", "digit-dash": "0-", "digit-space": "0 ", "digit-dot": "0.", "phone-prefix": "010-",
    "spaced-dash": "0 - ", "groups": "123456789 ", "letters-then-at": "a", "at-signs": "a@", "dots": "a.",
    "at-dots": "a@a.", "jwt-starts": "-eyJa", "jwt-parts": "eyJaaaaaaaaa.", "sk-prefixes": "sk-",
    "slack-prefixes": "xoxb-", "password-colon": "password:", "korean-keyword": "비밀번호 ",
    "pem-begin": "-----BEGIN PRIVATE KEY-----", "numerals": "공일공 ", "numeral-il": "일", "spaced-9": "9 ",
    "spaced-numerals": "공 일 공 ", "combining": "a\u0301", "lone-combining": "\u0301",
    "zero-width": "0\u200b",
    "fillers": "가\u1160", "plus82": "+82 ", "area-code": "(02) ", "region": "서울 ", "licence": "11-",
    "rtl": "\u05d0\u0661", "fullwidth": "\uff10", "mixed-separators": "0 0-0.0\n", "account": "계좌 12-",
    "passport": "여권 M1234567", "unicode-dash": "\u2010", "surrogate": "\ud800",
    "numeral-words": "구구구구 ",
    "numbered-list": "1. ",
}


def _best(fn: Callable[[str], object], text: str, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def _ratio(fn: Callable[[str], object], unit: str, reps: int) -> float:
    small = unit * max(1, N // len(unit))
    large = small * GROWTH
    return _best(fn, large, reps) / max(_best(fn, small, reps + 2), 1e-6)


def _pipeline(text: str) -> object:
    return REGISTRY.analyze(normalize(text).text)


@pytest.mark.parametrize("unit", list(UNITS.values()), ids=list(UNITS))
@pytest.mark.parametrize("stage", ["normalize", "detectors"])
def test_linear_in_the_text(stage: str, unit: str) -> None:
    fn: Callable[[str], object] = normalize if stage == "normalize" else _pipeline
    ratio = _ratio(fn, unit, reps=2)
    if ratio > BOUND:  # measure again, harder, before calling it super-linear
        ratio = min(ratio, _ratio(fn, unit, reps=5))
    assert ratio < BOUND, f"{stage} grew {ratio:.1f}x when the text grew {GROWTH}x"


def test_registry_stays_linear_with_many_matches() -> None:
    """Thousands of matches in one text (resolve_overlaps keeps a sorted list)."""
    unit = "010-2345-6789 kim@naver.com 900101-1234568 "
    ratio = _ratio(REGISTRY.analyze, unit, reps=2)
    if ratio > BOUND:
        ratio = min(ratio, _ratio(REGISTRY.analyze, unit, reps=4))
    assert ratio < BOUND
