"""training.cascade: the hashed n-gram features, the gate's threshold rule, a gate's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training import cascade


def test_ngrams_never_cross_two_texts() -> None:
    row, index, value = cascade.hashed_ngrams(["가나", "다"], bits=12)
    # " 가나 " (4 characters) has 4 + 3 + 2 + 1 n-grams of lengths 1-4, " 다 " 3 + 2 + 1
    assert np.bincount(row).tolist() == [10, 6]
    assert index.min() >= 0 and index.max() < 1 << 12
    assert np.allclose(value[row == 0], 1 / np.sqrt(10))


def test_ngrams_are_reproducible_and_fold_digits() -> None:
    a = cascade.hashed_ngrams(["전화 010-1234-5678"], bits=16)
    b = cascade.hashed_ngrams(["전화 090-9999-0000"], bits=16)
    assert np.array_equal(a[1], b[1])  # every digit is read as 0: the shape, not the value


@pytest.mark.parametrize(("n_unsafe", "allowed"), [(10, 0), (199, 0), (200, 1), (274, 1), (1000, 5)])
def test_threshold_passes_the_target_share(n_unsafe: int, allowed: int) -> None:
    scores = np.arange(n_unsafe, dtype=float)
    t = cascade.threshold_for(scores, np.ones(n_unsafe, dtype=bool))
    passed = scores >= t
    assert int((~passed).sum()) == allowed
    assert passed.mean() >= cascade.PASS_TARGET


def test_a_gate_learns_and_round_trips(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    rows = [{"text": f"제 주민번호는 9001011{i:06d}이에요", "labels": ["P1"]} for i in range(20)]
    rows += [{"text": f"오늘 날씨가 좋아서 공원에 {i}번 갔어요", "labels": []} for i in range(20)]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = cascade.GateTrainConfig(data=str(data), out=str(tmp_path / "gates"), bits=12, epochs=30)
    paths = cascade.train(config)
    for path in paths.values():
        gate = cascade.LinearGate.load(path)
        texts = ["제 주민번호 알려드릴게요", "공원 날씨가 좋네요"]
        scores = gate.scores(texts, cascade.signals(texts))
        assert scores[0] > scores[1]
        assert path.stat().st_size < 2_000_000
