"""OnnxEngine with a session pool (EngineConfig.sessions > 1): a call's buckets run in parallel on the
pool, a lone message on the solo session, and a text's outputs do not depend on where it ran.

Every session the engine loads is wrapped in a recorder (through `_load_session`), so the tests see which
sessions ran and that two runs were in flight at once; no timing is asserted (the barrier's timeout only
turns "never in parallel" into a failure instead of a hang).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import guard.engine.onnx as onnx_module
from guard.config import EngineConfig, default_model_dir
from guard.engine.base import EngineInput, EngineOutput
from guard.engine.onnx import OnnxEngine
from guard.errors import ConfigError
from tests.support.tinymodel import PLAIN_WORDS
from tests.unit.engine.test_batch_invariance import SENTENCES, TOLERANCE


class _Recorder:
    """An onnxruntime session that records its runs; `barrier`, when set, holds its next run until a
    run on another session is in flight too (proof of parallel runs)."""

    def __init__(self, session: Any, threads: int) -> None:
        self.session, self.threads = session, threads
        self.rows: list[int] = []
        self.barrier: threading.Barrier | None = None

    def run(self, names: list[str], feed: dict[str, np.ndarray], *args: Any) -> Any:
        barrier, self.barrier = self.barrier, None
        if barrier is not None:
            barrier.wait()
        self.rows.append(int(feed["input_ids"].shape[0]))
        return self.session.run(names, feed, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[_Recorder]:
    """The sessions of the next engines built, in load order (pool sessions first, then the solo one)."""
    made: list[_Recorder] = []
    load = onnx_module._load_session

    def recording(path: Path, config: EngineConfig) -> _Recorder:
        made.append(_Recorder(load(path, config), config.intra_op_num_threads))
        return made[-1]

    monkeypatch.setattr(onnx_module, "_load_session", recording)
    return made


def _filler(n: int) -> str:
    return " ".join(PLAIN_WORDS[4 + i % (len(PLAIN_WORDS) - 4)] for i in range(n))


def _reset(sessions: list[_Recorder]) -> None:
    for s in sessions:
        s.rows.clear()


def test_a_batch_runs_on_every_pool_session_at_once_with_the_outputs_of_each_text_alone(
        tiny_model_dir: Path, recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=2, intra_op_num_threads=2))
    pool, solo = recorded[:2], recorded[2]
    assert engine.sessions == 2 and [s.threads for s in recorded] == [1, 1, 2]
    items = [EngineInput(f"{_filler(n)} {word}") for n, word in
             ((3, "우울증"), (20, "kim minsu"), (0, "계좌"), (12, "010-1234-5678"), (5, "password"), (9, "kim"))]
    _reset(recorded)
    alone = [engine.predict([item])[0] for item in items]
    assert sum(solo.rows) == len(items) and not any(s.rows for s in pool)  # lone texts: the solo session
    _reset(recorded)
    barrier = threading.Barrier(2, timeout=30)
    for s in pool:
        s.barrier = barrier  # the first run on each pool session waits for one on the other
    batched = engine.predict(items)
    assert all(s.rows for s in pool) and not solo.rows  # both pool sessions ran, in parallel (barrier)
    assert batched == alone  # exact: the tiny model's scores are lookups
    assert any(o.spans for o in alone)


def test_a_pool_session_serves_a_lone_text_while_another_runs(tiny_model_dir: Path,
                                                              recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=2, intra_op_num_threads=2))
    pool, solo = recorded[:2], recorded[2]
    with engine._pool.one():  # one core busy: the solo session (all cores) must not run
        _reset(recorded)
        (out,) = engine.predict([EngineInput("kim minsu 우울증")])
    assert not solo.rows and sum(len(s.rows) for s in pool) == 1
    assert out == engine.predict([EngineInput("kim minsu 우울증")])[0]


def test_a_lone_text_takes_a_pool_session_while_another_call_is_in_the_engine(
        tiny_model_dir: Path, recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=2, intra_op_num_threads=2))
    pool, solo = recorded[:2], recorded[2]
    with engine._pool.calling():  # another caller between its runs: every session free, yet not alone
        _reset(recorded)
        (out,) = engine.predict([EngineInput("kim minsu 우울증")])
    assert not solo.rows and sum(len(s.rows) for s in pool) == 1
    _reset(recorded)
    assert out == engine.predict([EngineInput("kim minsu 우울증")])[0]
    assert solo.rows == [1]  # alone again: the solo session


def test_without_solo_threads_a_pool_has_no_solo_session(tiny_model_dir: Path, recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=3, intra_op_num_threads=1))
    assert engine.sessions == 3 and len(recorded) == 3 and engine._pool.solo is None
    assert engine.predict([EngineInput("kim minsu")])[0].spans


def test_one_session_is_the_layout_before_pools(tiny_model_dir: Path, recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=1, intra_op_num_threads=2))
    assert engine.sessions == 1 and [s.threads for s in recorded] == [2]


def test_a_paced_predict_runs_its_slices_in_turn_on_one_session_each(tiny_model_dir: Path,
                                                                      recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=2, intra_op_num_threads=2))
    text = EngineInput(" ".join(["hello world 010-1234-5678 kim minsu"] * 150))
    width = max(len(w.input_ids) for w in engine.encoder.windows(text))
    calls: list[int] = []

    class Pacer:
        max_batch_tokens = 2 * width

        def before_run(self) -> None:
            calls.append(sum(len(s.rows) for s in recorded))  # runs done before this slice

    _reset(recorded)
    paced = engine.predict([text], pacer=Pacer())[0]
    assert calls == list(range(len(calls))) and len(calls) > 2  # one run after each before_run
    assert not recorded[2].rows  # never the solo session: a long text takes one core
    assert paced.spans == engine.predict([text])[0].spans


def test_negative_sessions_are_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="sessions"):
        OnnxEngine(EngineConfig(model_dir=tiny_model_dir, sessions=-1))


def _same(a: EngineOutput, b: EngineOutput) -> None:
    for code, score in a.scores.items():
        assert abs(score - b.scores[code]) <= TOLERANCE, code
    assert [(s.start, s.end, s.type) for s in a.spans] == [(s.start, s.end, s.type) for s in b.spans]


def test_shipped_model_a_text_alone_and_inside_a_batch_spread_over_the_pool(recorded: list[_Recorder]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=default_model_dir(), sessions=2, intra_op_num_threads=2))
    pool, solo = recorded[:2], recorded[2]
    texts = [" ".join(SENTENCES[j % len(SENTENCES)] for j in range(i, i + 1 + i % 2)) for i in range(24)]
    items = [EngineInput(t) for t in texts]
    _reset(recorded)
    alone = [engine.predict([item])[0] for item in items]
    assert len(solo.rows) == len(items)
    _reset(recorded)
    batched = engine.predict(items)
    assert all(s.rows for s in pool) and not solo.rows
    for a, b in zip(alone, batched, strict=True):
        _same(a, b)
    # The same padded batch gives the same logits bit for bit on every session, solo or pool (1 or 2
    # threads): where a chunk lands changes nothing at all.
    windows = [w for item in items[:5] for w in engine.encoder.windows(item)]
    runs = [engine._run(s, windows) for s in recorded]
    for cat, tag in runs[1:]:
        assert np.array_equal(cat, runs[0][0]) and np.array_equal(tag, runs[0][1])
