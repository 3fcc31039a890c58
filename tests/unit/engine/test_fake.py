"""FakeEngine: keyword rules, spans, the failure hook and the batch log."""

from __future__ import annotations

import pytest

from guard.engine.base import EngineInput, ModelSpan
from guard.engine.fake import FakeEngine, FakeEngineError
from guard.errors import ConfigError
from guard.taxonomy import CATEGORY_CODES, SpanType


def test_keyword_rules_and_spans() -> None:
    engine = FakeEngine({"우울증": "S1"}, spans={"kim": SpanType.PERSON}, hit_score=0.9, base_score=0.1)
    plain, hit = engine.predict([EngineInput("hello"), EngineInput("kim 우울증 kim")])
    assert plain.scores == dict.fromkeys(CATEGORY_CODES, 0.1) and plain.spans == []
    assert hit.scores["S1"] == 0.9 and hit.scores["P1"] == 0.1
    assert hit.spans == [ModelSpan(0, 3, SpanType.PERSON, 0.9), ModelSpan(8, 11, SpanType.PERSON, 0.9)]
    assert engine.batch_sizes == [2] and [i.text for i in engine.seen] == ["hello", "kim 우울증 kim"]


def test_fail_on_raises_and_logs_nothing() -> None:
    engine = FakeEngine(fail_on=lambda batch: any("boom" in i.text for i in batch))
    with pytest.raises(FakeEngineError):
        engine.predict([EngineInput("a"), EngineInput("boom")])
    assert engine.batch_sizes == []
    assert len(engine.predict([EngineInput("a")])) == 1


def test_unknown_code_in_rules() -> None:
    with pytest.raises(ConfigError):
        FakeEngine({"x": "Q1"})


def test_count_tokens() -> None:
    assert FakeEngine().count_tokens(" a  b c ") == 3
