"""OnnxEngine on the tiny model of tests/support/tinymodel.py (exact known scores, one word = one token)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from guard.config import EngineConfig
from guard.engine.base import EngineInput, ModelSpan
from guard.engine.onnx import OnnxEngine
from guard.engine.pool import SessionPool
from guard.engine.tags import TaggedToken, decode_spans
from guard.errors import ConfigError, ModelError
from guard.taxonomy import CATEGORY_CODES, TAGS, Role, SpanType
from tests.support.tinymodel import (
    PLAIN_WORDS,
    base_score,
    build_tiny_model,
    pair_alone_score,
    tag_prob,
    trigger_score,
)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> OnnxEngine:
    return OnnxEngine(EngineConfig(model_dir=tiny_model_dir, intra_op_num_threads=1))


def _filler(n: int) -> str:
    return " ".join(PLAIN_WORDS[4 + i % (len(PLAIN_WORDS) - 4)] for i in range(n))  # no role words


def _spans(text: str, spans: list[ModelSpan]) -> list[tuple[str, SpanType]]:
    return [(text[s.start:s.end], s.type) for s in spans]


def test_info(engine: OnnxEngine, tiny_model_dir: Path) -> None:
    info = engine.info
    assert (info.name, info.version, info.quant, info.max_length) == ("kguard-tiny-test", "0.0.1", "fp32", 32)
    assert info.provider == "CPUExecutionProvider"
    assert info.categories == CATEGORY_CODES
    assert info.thresholds == dict.fromkeys(CATEGORY_CODES, 0.5)
    assert info.sha256 == hashlib.sha256((tiny_model_dir / "model.onnx").read_bytes()).hexdigest()


def test_scores_of_trigger_words(engine: OnnxEngine) -> None:
    plain, health, two = engine.predict([EngineInput("hello world"), EngineInput("my 우울증"),
                                         EngineInput("전과 password")])
    assert list(plain.scores) == list(CATEGORY_CODES)
    assert plain.scores == pytest.approx(dict.fromkeys(CATEGORY_CODES, base_score()))
    assert health.scores["S1"] == pytest.approx(trigger_score())
    assert health.scores["P1"] == pytest.approx(base_score())
    assert (two.scores["S7"], two.scores["P4"]) == pytest.approx((trigger_score(), trigger_score()))
    assert plain.spans == health.spans == []


def test_empty_text(engine: OnnxEngine) -> None:
    (out,) = engine.predict([EngineInput("")])
    assert out.scores == pytest.approx(dict.fromkeys(CATEGORY_CODES, base_score())) and out.spans == []


def test_empty_batch(engine: OnnxEngine) -> None:
    assert engine.predict([]) == []


def test_spans_in_character_offsets(engine: OnnxEngine) -> None:
    text = "my name is kim minsu , call  010-1234-5678 or a@b.kr"
    (out,) = engine.predict([EngineInput(text)])
    assert _spans(text, out.spans) == [("kim minsu", SpanType.PERSON), ("010-1234-5678", SpanType.PHONE),
                                       ("a@b.kr", SpanType.EMAIL)]
    assert all(s.score == pytest.approx(tag_prob()) for s in out.spans)


def test_bio_decoding(engine: OnnxEngine) -> None:
    text = "minsu minsu hello kim kim minsu 010-1234-5678 minsu"
    (out,) = engine.predict([EngineInput(text)])
    # An I without a B opens a span; a B closes the open one; an I of another type continues it, and the
    # span takes the type covering most characters.
    assert _spans(text, out.spans) == [("minsu minsu", SpanType.PERSON), ("kim", SpanType.PERSON),
                                       ("kim minsu", SpanType.PERSON), ("010-1234-5678 minsu", SpanType.PHONE)]


def test_span_edges_are_trimmed_of_spaces_and_brackets() -> None:
    text = "전화 (010-1234-5678) 김민수!"
    tokens = [TaggedToken((True, SpanType.PHONE), 2, 7, 0.9), TaggedToken((False, SpanType.PHONE), 7, 18, 0.7),
              TaggedToken((True, SpanType.PERSON), 18, 22, 0.8), TaggedToken((True, SpanType.CREDENTIAL), 22, 23)]
    assert decode_spans(text, tokens) == [(4, 17, SpanType.PHONE, pytest.approx(0.8)),
                                         (19, 22, SpanType.PERSON, 0.8), (22, 23, SpanType.CREDENTIAL, 1.0)]


def test_padding_is_masked(engine: OnnxEngine) -> None:
    # <pad> scores P5 in the tiny model: a short text batched with a long one must not see it.
    short, _ = engine.predict([EngineInput("hello"), EngineInput(_filler(20))])
    assert short.scores["P5"] == pytest.approx(base_score())


def test_long_text_windows_merge_back(engine: OnnxEngine) -> None:
    text = f"kim minsu {_filler(45)} 010-1234-5678 {_filler(50)} 우울증 a@b.kr"
    assert len(engine.encoder.windows(EngineInput(text))) >= 4
    (out,) = engine.predict([EngineInput(text)])
    assert out.scores["S1"] == pytest.approx(trigger_score())
    assert _spans(text, out.spans) == [("kim minsu", SpanType.PERSON), ("010-1234-5678", SpanType.PHONE),
                                       ("a@b.kr", SpanType.EMAIL)]


@pytest.mark.parametrize("penalty", [0.5, 1])
def test_window_penalty_divides_the_best_windows_odds_by_the_window_count(
        engine: OnnxEngine, tiny_model_dir: Path, tmp_path: Path, penalty: float) -> None:
    folder = tmp_path / "penalised"
    shutil.copytree(tiny_model_dir, folder)
    _edit_labels(folder, window_penalty=penalty)
    penalised = OnnxEngine(EngineConfig(model_dir=folder, intra_op_num_threads=1))
    long, short = EngineInput(f"{_filler(45)} 우울증 {_filler(50)}"), EngineInput("우울증")
    n = len(engine.encoder.windows(long))
    assert n >= 3
    odds = trigger_score() / (1 - trigger_score())
    (plain_long, plain_short), (pen_long, pen_short) = engine.predict([long, short]), penalised.predict([long, short])
    assert plain_long.scores["S1"] == pytest.approx(trigger_score())
    pen_odds = pen_long.scores["S1"] / (1 - pen_long.scores["S1"])
    assert pen_odds == pytest.approx(odds / n ** penalty, rel=1e-4)
    assert pen_short.scores == plain_short.scores  # one window: nothing to correct for


@pytest.mark.parametrize("shift", range(0, 30, 3))
def test_windowed_spans_match_one_big_window(engine: OnnxEngine, tmp_path: Path, shift: int) -> None:
    big = OnnxEngine(EngineConfig(model_dir=build_tiny_model(tmp_path / "big", max_length=512)))
    # Tagged words at every position around the window cuts (and a PERSON run across one).
    words = [*_filler(shift).split(), *(["kim", "minsu", "hello", "minsu", "010-1234-5678"] * 12)]
    text = " ".join(words)
    (small_out,), (big_out,) = engine.predict([EngineInput(text)]), big.predict([EngineInput(text)])
    assert len(big.encoder.windows(EngineInput(text))) == 1
    assert small_out.spans == big_out.spans
    assert small_out.scores == big_out.scores


def test_batched_equals_one_by_one(tiny_model_dir: Path) -> None:
    # A small token cap forces several sub-batches after sorting by length.
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, max_batch_tokens=100))
    texts = [(3, "우울증"), (70, "kim minsu"), (0, ""), (12, "010-1234-5678"), (33, "password"), (1, "계좌")]
    items = [EngineInput(f"{_filler(n)} {word}") for n, word in texts]
    items.append(EngineInput("hello", Role.ASSISTANT, context="전과 " + _filler(30)))
    batched = engine.predict(items)
    assert len(batched) == len(items)
    assert batched == [engine.predict([item])[0] for item in items]


class _CountingSession:
    """Records the padded shape of every onnxruntime call, then runs it."""

    def __init__(self, session: object) -> None:
        self.session, self.shapes = session, []

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.shapes.append(feed["input_ids"].shape)
        return self.session.run(names, feed)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("ratio", "calls"), [(1.0, 3), (1.3, 2), (10.0, 1)])
def test_windows_of_unlike_length_go_in_separate_calls(tiny_model_dir: Path, ratio: float, calls: int) -> None:
    # One session: a pool would also cut buckets at its fair share of the call (test_onnx_pool.py).
    engine = OnnxEngine(EngineConfig(model_dir=tiny_model_dir, bucket_width_ratio=ratio, sessions=1))
    counting = _CountingSession(engine._pool.sessions[0])
    engine._pool = SessionPool([counting])  # type: ignore[list-item]
    items = [EngineInput(_filler(n)) for n in (20, 4, 5, 20)]  # two short windows, one width apart, two long
    widths = sorted(len(engine.encoder.windows(item)[0].input_ids) for item in items)
    outputs = engine.predict(items)
    assert len(counting.shapes) == calls
    padded = sum(rows * width for rows, width in counting.shapes)
    assert padded == {1: 4 * widths[-1], 2: 2 * widths[1] + 2 * widths[-1], 3: sum(widths)}[calls]
    assert outputs == [engine.predict([item])[0] for item in items]


@pytest.mark.parametrize("change", [{"bucket_width_ratio": 0.9}, {"max_batch_tokens": 0}])
def test_bad_batching_settings_are_refused(tiny_model_dir: Path, change: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="engine"):
        OnnxEngine(EngineConfig(model_dir=tiny_model_dir, **change))  # type: ignore[arg-type]


def test_context_is_judged_with_the_answer(engine: OnnxEngine) -> None:
    near, far = engine.predict([EngineInput("hello", Role.ASSISTANT, context="주민번호 hello"),
                                EngineInput("hello", Role.ASSISTANT, context=_filler(20) + " 주민번호")])
    assert near.scores["P1"] == pytest.approx(trigger_score())
    assert far.scores["P1"] == pytest.approx(base_score())  # beyond context_tokens: cut
    assert near.spans == []


def test_token_type_ids_are_fed(tmp_path: Path) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=build_tiny_model(tmp_path / "tt", token_type_ids=True)))
    (out,) = engine.predict([EngineInput("kim 우울증")])
    assert out.scores["S1"] == pytest.approx(trigger_score())
    assert out.spans[0].type is SpanType.PERSON


def test_count_tokens_and_warmup(engine: OnnxEngine) -> None:
    assert engine.count_tokens("") == 0
    assert engine.count_tokens("hello kim  minsu unknownword") == 4
    engine.warmup()


def test_unknown_provider_is_a_config_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="NoSuchExecutionProvider"):
        OnnxEngine(EngineConfig(model_dir=tiny_model_dir, providers=("NoSuchExecutionProvider",)))


# Bad model folders: every one is a ModelError whose message names the file.

def _edit_labels(folder: Path, **changes: object) -> None:
    labels = json.loads((folder / "labels.json").read_text())
    labels.update(changes)
    (folder / "labels.json").write_text(json.dumps(labels))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _rename_output(path: Path) -> None:
    model = onnx.load(str(path))
    for node in model.graph.node:
        node.output[:] = ["cat_out" if o == "category_logits" else o for o in node.output]
    model.graph.output[0].name = "cat_out"
    onnx.save(model, str(path))


def _symbolic_label_dims(path: Path) -> None:
    """Route tag_logits through a Slice whose end depends on the input, so its last dim is unknown."""
    model = onnx.load(str(path))
    for node in model.graph.node:
        node.output[:] = ["tag_raw" if o == "tag_logits" else o for o in node.output]
    model.graph.node.extend([
        helper.make_node("ReduceMax", ["attention_mask"], ["mask_max"], axes=[0, 1], keepdims=0),
        helper.make_node("Mul", ["mask_max", "thousand"], ["end0"]),
        helper.make_node("Unsqueeze", ["end0", "axis0"], ["ends"]),
        helper.make_node("Slice", ["tag_raw", "axis0", "ends", "axis2"], ["tag_logits"]),
    ])
    model.graph.initializer.extend([numpy_helper.from_array(np.array(1000, dtype=np.int64), "thousand"),
                                    numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0")])
    model.graph.output[1].type.tensor_type.shape.dim[-1].dim_param = "tags"
    onnx.save(model, str(path))


_CASES = {
    "model missing": ("model.onnx", lambda d: (d / "model.onnx").unlink()),
    "tokenizer missing": ("tokenizer.json", lambda d: (d / "tokenizer.json").unlink()),
    "labels missing": ("labels.json", lambda d: (d / "labels.json").unlink()),
    "model truncated": ("model.onnx", lambda d: _truncate(d / "model.onnx")),
    "model garbage": ("model.onnx", lambda d: (d / "model.onnx").write_bytes(b"not a model")),
    "model empty": ("model.onnx", lambda d: (d / "model.onnx").write_bytes(b"")),
    "tokenizer garbage": ("tokenizer.json", lambda d: (d / "tokenizer.json").write_text("{oops")),
    "tokenizer truncated": ("tokenizer.json", lambda d: _truncate(d / "tokenizer.json")),
    "labels not json": ("labels.json", lambda d: (d / "labels.json").write_text("{oops")),
    "labels not an object": ("labels.json", lambda d: (d / "labels.json").write_text("[1, 2]")),
    "labels no name": ("labels.json", lambda d: _edit_labels(d, name=None)),
    "categories short": ("labels.json", lambda d: _edit_labels(d, categories=list(CATEGORY_CODES[:-1]))),
    "categories unknown": ("labels.json",
                           lambda d: _edit_labels(d, categories=[*CATEGORY_CODES[:-1], "X9"])),
    "categories doubled": ("labels.json",
                           lambda d: _edit_labels(d, categories=[*CATEGORY_CODES[:-1], "P1"])),
    "tag unknown": ("labels.json", lambda d: _edit_labels(d, tags=[*TAGS[:-1], "I-NOPE"])),
    "tags without O": ("labels.json", lambda d: _edit_labels(d, tags=list(TAGS[1:]))),
    "threshold range": ("labels.json", lambda d: _edit_labels(d, thresholds={"P1": 1.5})),
    "threshold code": ("labels.json", lambda d: _edit_labels(d, thresholds={"Q1": 0.5})),
    "max_length small": ("labels.json", lambda d: _edit_labels(d, max_length=16)),
    "max_length text": ("labels.json", lambda d: _edit_labels(d, max_length="32")),
    "window_penalty range": ("labels.json", lambda d: _edit_labels(d, window_penalty=3)),
    "window_penalty text": ("labels.json", lambda d: _edit_labels(d, window_penalty="1")),
    "sentence_check range": ("labels.json", lambda d: _edit_labels(d, sentence_check=-1)),
    "sentence_check text": ("labels.json", lambda d: _edit_labels(d, sentence_check="12")),
    "tags fewer than outputs": ("model.onnx", lambda d: _edit_labels(d, tags=list(TAGS[:-2]))),
    "output missing": ("model.onnx", lambda d: _rename_output(d / "model.onnx")),
    "symbolic dims mismatch": ("model.onnx", lambda d: (_symbolic_label_dims(d / "model.onnx"),
                                                       _edit_labels(d, tags=list(TAGS[:-2])))),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_bad_model_folder(tiny_model_dir: Path, tmp_path: Path, case: str) -> None:
    name, damage = _CASES[case]
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    damage(folder)
    with pytest.raises(ModelError, match=name.replace(".", r"\.")):
        OnnxEngine(EngineConfig(model_dir=folder))


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model folder not found"):
        OnnxEngine(EngineConfig(model_dir=tmp_path / "nope"))


def test_symbolic_label_dims_that_match_load(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    _symbolic_label_dims(folder / "model.onnx")
    (out,) = OnnxEngine(EngineConfig(model_dir=folder)).predict([EngineInput("우울증")])
    assert out.scores["S1"] == pytest.approx(trigger_score())


@pytest.fixture(scope="module")
def checked(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> OnnxEngine:
    folder = tmp_path_factory.mktemp("checked") / "model"
    shutil.copytree(tiny_model_dir, folder)
    _edit_labels(folder, sentence_check=1)
    return OnnxEngine(EngineConfig(model_dir=folder, intra_op_num_threads=1))


def test_sentence_check_two_unrelated_sentences_do_not_add_up_in_a_long_text(
        engine: OnnxEngine, checked: OnnxEngine) -> None:
    text = f"{_filler(40)} 유전자 . 아버지 {_filler(40)}"
    assert len(engine.encoder.windows(EngineInput(text))) > 1
    (off,), (on,) = engine.predict([EngineInput(text)]), checked.predict([EngineInput(text)])
    assert off.scores["S6"] == pytest.approx(trigger_score())  # the window holding both fires unchecked
    assert on.scores["S6"] == pytest.approx(pair_alone_score())  # each sentence alone does not
    assert on.scores["S6"] < 0.5 < off.scores["S6"]
    assert on.spans == off.spans and on.scores["S1"] == off.scores["S1"]


def test_sentence_check_keeps_what_one_sentence_says(engine: OnnxEngine, checked: OnnxEngine) -> None:
    one_sentence = f"{_filler(40)} 유전자 아버지 . {_filler(40)}"
    trigger = f"{_filler(40)} hello . 우울증 {_filler(40)}"
    for text in (one_sentence, trigger):
        (off,), (on,) = engine.predict([EngineInput(text)]), checked.predict([EngineInput(text)])
        assert on.scores == pytest.approx(off.scores)
    assert checked.predict([EngineInput(trigger)])[0].scores["S1"] == pytest.approx(trigger_score())


def test_sentence_check_leaves_a_one_window_text_as_it_is(engine: OnnxEngine, checked: OnnxEngine) -> None:
    text = "hello 유전자 . 아버지 world"
    assert len(engine.encoder.windows(EngineInput(text))) == 1
    assert checked.predict([EngineInput(text)])[0].scores["S6"] == pytest.approx(trigger_score())


def test_sentence_check_joins_sentences_shorter_than_its_unit(tiny_model_dir: Path, tmp_path: Path,
                                                              checked: OnnxEngine) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    _edit_labels(folder, sentence_check=8)  # "유전자 ." is two tokens: joined with what follows
    joined = OnnxEngine(EngineConfig(model_dir=folder, intra_op_num_threads=1))
    text = f"{_filler(40)} . 유전자 . 아버지 {_filler(40)}"
    assert joined.predict([EngineInput(text)])[0].scores["S6"] == pytest.approx(trigger_score())
    assert checked.predict([EngineInput(text)])[0].scores["S6"] == pytest.approx(pair_alone_score())


def test_sentence_check_is_batch_invariant(checked: OnnxEngine) -> None:
    texts = [f"{_filler(40)} 유전자 . 아버지 {_filler(40)}", "우울증", f"{_filler(70)} 전과 . password",
             f"{_filler(30)} 유전자 아버지 {_filler(30)}"]
    together = checked.predict([EngineInput(t) for t in texts])
    alone = [checked.predict([EngineInput(t)])[0] for t in texts]
    assert together == alone
