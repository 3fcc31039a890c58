"""Batch invariance on the shipped model: a text's scores and spans never depend on the other texts of
its batch, their number, their lengths or its own position (DESIGN.md; one tenant's texts must not move
another tenant's verdict). Fails on a dynamically quantized graph, whose activation scales are taken
over the whole padded batch. KGUARD_ENGINE_MODEL_DIR points it at another model folder (a new export)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.config import EngineConfig, default_model_dir
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.onnx import OnnxEngine
from guard.taxonomy import Role

TOLERANCE = 1e-4
SENTENCES = (
    "죄송하지만 다른 사람의 연락처는 알려드릴 수 없어요.",
    "제 주민번호는 900101-1234568이에요",
    "저 작년에 공황장애 진단받았어요.",
    "내일 오후 3시에 회의실 B에서 봬요",
    "김민수 씨 집 주소 좀 찾아줘",
    "이번 주 토요일에 부산으로 가족 여행 가요.",
    "연락처는 010-2345-6789 입니다.",
    "The meeting moved to Friday, see you there.",
    "서울중앙지법은 A씨(35)에게 징역 2년을 선고했다.",
    "ㅋㅋㅋ 그 영화 진짜 재밌더라",
)


@pytest.fixture(scope="module")
def engine() -> OnnxEngine:
    folder = Path(os.environ.get("KGUARD_ENGINE_MODEL_DIR") or default_model_dir())
    return OnnxEngine(EngineConfig(model_dir=folder, intra_op_num_threads=1))


def _text(draw_indices: list[int]) -> str:
    return " ".join(SENTENCES[i] for i in draw_indices)


texts = st.lists(st.integers(0, len(SENTENCES) - 1), min_size=1, max_size=30).map(_text)


def _same(a: EngineOutput, b: EngineOutput) -> None:
    for code, score in a.scores.items():
        assert abs(score - b.scores[code]) <= TOLERANCE, code
    assert [(s.start, s.end, s.type) for s in a.spans] == [(s.start, s.end, s.type) for s in b.spans]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=texts, others=st.lists(texts, min_size=1, max_size=24), at=st.integers(0, 24),
       role=st.sampled_from(["user", "assistant"]))
def test_scores_do_not_depend_on_the_batch(engine: OnnxEngine, target: str, others: list[str], at: int,
                                           role: str) -> None:
    item = EngineInput(target) if role == "user" else EngineInput(target, Role.ASSISTANT, SENTENCES[4])
    alone = engine.predict([item])[0]
    batch = [EngineInput(t) for t in others]
    at = min(at, len(batch))
    batch.insert(at, item)
    _same(alone, engine.predict(batch)[at])
