"""Property tests over hostile text: the normalizer, every detector, the registry and the whole pipeline.

Whatever the text (any plane, lone surrogates, combining marks, right-to-left, invisible characters,
identifier pieces, runs of separators, tens of thousands of characters), nothing raises, every offset
stays inside its text, and what the detectors report is well-formed.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.detectors.base import Detector, Validity
from guard.detectors.registry import DetectorRegistry
from guard.errors import InputError
from guard.normalize import normalize
from guard.sdk import Guard
from guard.verdict import Verdict
from tests.fuzz.strategies import FUZZ, hostile_text, huge_text

REGISTRY = DetectorRegistry.default()
DETECTORS = {d.name: d for d in REGISTRY.detectors}
GUARD = Guard.detectors_only()


@FUZZ
@given(hostile_text())
def test_normalize_never_raises_and_maps_back_inside_the_original(text: str) -> None:
    norm = normalize(text)
    assert norm.original == text
    norm.text.encode("utf-8")  # lone surrogates are gone: what reaches the tokenizer is valid UTF-8
    assert normalize(norm.text).text == norm.text  # idempotent
    n, m = len(norm.text), len(text)
    previous = (0, 0)
    for i in range(0, n + 1, max(1, n // 16)):
        start, end = norm.to_original(i, min(n, i + 7))
        assert 0 <= start <= end <= m
        assert start >= previous[0]  # monotonic
        previous = (start, end)


@FUZZ
@given(st.data())
@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_every_detector_reports_well_formed_matches(name: str, data: st.DataObject) -> None:
    detector: Detector = DETECTORS[name]
    raw = data.draw(hostile_text(), label="text")
    for text in (raw, normalize(raw).text):
        for match in detector.find(text):
            assert 0 <= match.start < match.end <= len(text)
            assert match.validity in (Validity.VALID, Validity.UNVERIFIABLE)
            assert 0.0 <= match.score <= 1.0
            assert match.type.category == match.category


@FUZZ
@given(hostile_text())
def test_registry_result_is_sorted_and_never_overlaps(text: str) -> None:
    matches = REGISTRY.analyze(normalize(text).text)
    for a, b in zip(matches, matches[1:], strict=False):
        assert a.end <= b.start


@FUZZ
@given(huge_text())
def test_huge_inputs_pass_through_normalizer_and_detectors(text: str) -> None:
    norm = normalize(text)
    for match in REGISTRY.analyze(norm.text):
        start, end = norm.to_original(match.start, match.end)
        assert 0 <= start <= end <= len(text)


def _check_verdict(text: str, verdict: Verdict) -> None:
    assert verdict.masked is not None
    for span in verdict.spans:
        assert 0 <= span.start < span.end <= len(text), span
    assert verdict.safe == (not verdict.categories)


@FUZZ
@given(hostile_text(), st.sampled_from(["user", "assistant"]))
def test_guard_check_answers_or_rejects_any_text(text: str, role: str) -> None:
    try:
        verdict = GUARD.check(text, role=role)
    except InputError as exc:  # only an empty or over-long text is refused, without echoing it
        assert not text.strip() and "text is empty" in str(exc)
        return
    _check_verdict(text, verdict)


@FUZZ
@given(hostile_text(surrogates=False), hostile_text(surrogates=False))
def test_guard_check_with_context_and_messages(text: str, context: str) -> None:
    if not text.strip():
        return
    verdict = GUARD.check(messages=[{"role": "user", "content": context},
                                    {"role": "assistant", "content": text}])
    _check_verdict(text, verdict)


@FUZZ
@given(st.binary(max_size=400))
def test_bytes_input_is_decoded_or_refused(raw: bytes) -> None:
    try:
        verdict = GUARD.check(raw)
    except InputError as exc:
        assert "UTF-8" in str(exc) or "empty" in str(exc)
        return
    _check_verdict(raw.decode("utf-8"), verdict)
