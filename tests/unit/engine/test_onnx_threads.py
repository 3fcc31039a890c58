"""OnnxEngine.predict from several threads at once (the batcher's max_concurrent_batches) on the tiny model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from guard.config import EngineConfig
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.onnx import OnnxEngine
from guard.taxonomy import Role
from tests.support.tinymodel import PLAIN_WORDS

ROUNDS = 40


def _filler(n: int) -> str:
    return " ".join(PLAIN_WORDS[4 + i % (len(PLAIN_WORDS) - 4)] for i in range(n))


def _batches() -> list[list[EngineInput]]:
    """Two different batches: short and windowed texts, spans, context; one per thread."""
    first = [EngineInput(f"{_filler(n)} {word}") for n, word in
             ((0, "우울증"), (3, "kim minsu"), (12, "password"), (70, "계좌"), (150, "kim minsu"))]
    second = [EngineInput(f"{word} {_filler(n)}") for n, word in
              ((1, "전과"), (5, "kim minsu"), (33, "010-1234-5678"), (200, "우울증"))]
    second.append(EngineInput("hello kim minsu", Role.ASSISTANT, context="전과 " + _filler(30)))
    return [first, second]


@pytest.mark.parametrize("intra", [1, 0])
def test_two_threads_at_once_give_the_one_by_one_outputs(tiny_model_dir: Path, intra: int) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, intra_op_num_threads=intra, max_batch_tokens=300))
    batches = _batches()
    expected = [[engine.predict([item])[0] for item in batch] for batch in batches]
    start = threading.Barrier(len(batches), timeout=30)
    got: list[list[list[EngineOutput]]] = [[] for _ in batches]
    errors: list[BaseException] = []

    def drive(k: int) -> None:
        try:
            start.wait()  # both threads enter predict together
            for _ in range(ROUNDS):
                got[k].append(engine.predict(batches[k]))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for k, outputs in enumerate(got):
        assert len(outputs) == ROUNDS
        assert all(out == expected[k] for out in outputs)
    assert any(o.spans for o in expected[0]) and any(o.spans for o in expected[1])  # spans are compared too


def test_token_counts_from_two_threads(tiny_model_dir: Path) -> None:
    # The tokenizer is shared by both threads (read only): no "Already borrowed", same ids.
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, intra_op_num_threads=1))
    texts = [_filler(n) for n in range(1, 300, 7)]
    expected = [engine.count_tokens(t) for t in texts]
    start = threading.Barrier(2, timeout=30)
    results: list[list[int]] = [[], []]

    def drive(k: int) -> None:
        start.wait()
        for _ in range(20):
            results[k].extend(engine.count_tokens(t) for t in texts)

    threads = [threading.Thread(target=drive, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results[0] == results[1] == expected * 20
