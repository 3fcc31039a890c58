"""End to end, tiny: generate rows, train a random-initialised 2-layer model for a few steps, export it
to ONNX, quantize to int8, check parity, and load the folder with the runtime's OnnxEngine.

No network and no base model: the tokenizer is trained here on the generated text (a small Unigram
vocabulary with the XLM-R special tokens), so CI needs only the train extra."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")
pytest.importorskip("faker", reason="the train extra (faker) is not installed")
pytest.importorskip("transformers", reason="the train extra (transformers) is not installed")
import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402

from guard.config import EngineConfig  # noqa: E402
from guard.engine.base import EngineInput  # noqa: E402
from guard.engine.onnx import OnnxEngine  # noqa: E402
from guard.taxonomy import CATEGORY_CODES, TAGS, Role  # noqa: E402
from training.export import cap_false_positives, choose_thresholds, export  # noqa: E402
from training.generate import generate  # noqa: E402
from training.quantize import quantize_static  # noqa: E402
from training.train import (  # noqa: E402
    IGNORE,
    SoftTargets,
    TrainConfig,
    distill_loss,
    encode_row,
    teacher_layers,
    train,
    window_tags,
)

pytestmark = [pytest.mark.train, pytest.mark.slow]


def build_tokenizer(texts: list[str], path: Path) -> Path:
    """A 2,000-piece Unigram tokenizer with XLM-R's special tokens at ids 0-3."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=2000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"
    )
    tok.train_from_iterator(texts, trainer)
    tok.save(str(path))
    return path


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pipeline")
    data = root / "data"
    generate(data, {"train": 300, "dev": 80, "test": 40}, seed=3, use_benign=False)
    texts = [
        json.loads(line)["text"] for line in (data / "train.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    tokenizer = build_tokenizer(texts + ["user", "assistant:"], root / "tokenizer.json")
    vocab = Tokenizer.from_file(str(tokenizer)).get_vocab_size()
    cfg = TrainConfig(
        base=f"tiny:{vocab}",
        tokenizer=str(tokenizer),
        data=str(data),
        out=str(root / "ckpt"),
        layers=2,
        steps=12,
        batch=8,
        warmup=2,
        log_every=4,
        max_length=64,
        stride=8,
        context_tokens=16,
        freeze_embeddings=False,
        threads=1,
    )
    train(cfg)
    model_dir = root / "model"
    result = export(root / "ckpt", model_dir, root / "onnx", dev_rows=80, max_large_share=0.05, mean_atol=0.1)
    return {"root": root, "model": model_dir, "data": data, "result": result}  # type: ignore[dict-item]


def test_model_folder_has_the_contract_files(pipeline: dict[str, Path]) -> None:
    folder = pipeline["model"]
    assert {p.name for p in folder.iterdir()} >= {"model.onnx", "tokenizer.json", "labels.json"}
    labels = json.loads((folder / "labels.json").read_text())
    assert labels["categories"] == list(CATEGORY_CODES)
    assert labels["tags"] == list(TAGS)
    assert set(labels["thresholds"]) == set(CATEGORY_CODES)
    assert labels["quant"] == "int8-pertoken"
    assert (labels["max_length"], labels["stride"], labels["context_tokens"]) == (64, 8, 16)


def test_onnx_graph_signature(pipeline: dict[str, Path]) -> None:
    import onnx

    graph = onnx.load(str(pipeline["model"] / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["category_logits", "tag_logits"]
    ops = {n.op_type for n in graph.node}
    assert "MatMulIntegerToFloat" in ops, "no per-token int8 product in the exported graph"
    # batch invariance: no activation scale may be computed over the whole batch
    assert not ops & {"DynamicQuantizeLinear", "DynamicQuantizeMatMul"}, "a dynamic quantization op is left"


def test_static_form_of_the_same_graph_loads_and_predicts(pipeline: dict[str, Path], tmp_path: Path) -> None:
    """`--quant static` on the exported fp32 graph: every MatMul gets calibrated int8 inputs, and the
    folder loads and predicts."""
    import onnx

    for name in ("tokenizer.json", "labels.json"):
        shutil.copy(pipeline["model"] / name, tmp_path / name)
    engine = OnnxEngine(EngineConfig(model_dir=pipeline["model"]))
    quantize_static(pipeline["root"] / "onnx" / "model.opt.onnx", tmp_path / "model.onnx", engine.encoder,
                    ["제 번호는 010-1234-5678 입니다", "오늘 날씨가 좋네요", "주민번호 900101-1234568"])
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    dequantized = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    # the category head reads the pooled vector and stays fp32 (14 columns: no cost worth the error)
    matmuls = [n for n in graph.node if n.op_type == "MatMul" and not n.name.startswith("/category/")]
    assert matmuls and all(n.input[0] in dequantized for n in matmuls), "a MatMul input stayed fp32"
    out = OnnxEngine(EngineConfig(model_dir=tmp_path)).predict([EngineInput("제 번호는 010-1234-5678 입니다")])
    assert all(0.0 <= p <= 1.0 for p in out[0].scores.values())


def test_runtime_engine_loads_and_predicts(pipeline: dict[str, Path]) -> None:
    engine = OnnxEngine(EngineConfig(model_dir=pipeline["model"]))
    long_text = "제 번호는 010-1234-5678 입니다. " * 20  # several windows
    outputs = engine.predict(
        [
            EngineInput("안녕하세요"),
            EngineInput(long_text),
            EngineInput("네 알겠습니다", Role.ASSISTANT, "연락처 알려줘"),
        ]
    )
    assert len(outputs) == 3
    for out in outputs:
        assert set(out.scores) == set(CATEGORY_CODES)
        assert all(0.0 <= p <= 1.0 for p in out.scores.values())
    assert engine.info.name == "kguard-ko-small"


def test_parity_figures_are_reported(pipeline: dict[str, Path]) -> None:
    parity = pipeline["result"]["parity"]  # type: ignore[index]
    assert parity["rows"] == 80
    assert 0.0 <= parity["mean_abs"] <= parity["max_abs"]


def test_window_tags_follow_character_spans() -> None:
    offsets = [(0, 2), (3, 6), (6, 9), (10, 12)]
    tags = window_tags(offsets, [[3, 9, "PHONE"]])
    assert [TAGS[t] for t in tags] == ["O", "B-PHONE", "I-PHONE", "O"]


def test_encode_row_uses_the_runtime_windows(pipeline: dict[str, Path]) -> None:
    from guard.engine.tokenize import TextEncoder

    encoder = TextEncoder.from_file(
        pipeline["root"] / "tokenizer.json", max_length=64, stride=8, context_tokens=16
    )
    row = {
        "text": "제 번호 010-1234-5678",
        "role": "assistant",
        "context": "번호 뭐야",
        "labels": ["P3"],
        "spans": [[5, 18, "PHONE"]],
    }
    (example,) = encode_row(encoder, row)
    window = encoder.windows(EngineInput(row["text"], Role.ASSISTANT, row["context"]))[0]
    assert example.input_ids == window.input_ids
    assert example.cats[CATEGORY_CODES.index("P3")] == 1.0
    tagged = [TAGS[t] for t in example.tags if t >= 0 and t != 0]
    assert tagged and tagged[0] == "B-PHONE"


def test_thresholds_reach_the_target_precision_when_possible() -> None:
    import numpy as np

    probs = np.zeros((6, 14))
    truth = np.zeros((6, 14), dtype=int)
    probs[:, 0] = [0.9, 0.8, 0.7, 0.4, 0.3, 0.1]
    truth[:, 0] = [1, 1, 1, 0, 0, 0]
    thresholds = choose_thresholds(probs, truth, target_precision=0.9)
    assert 0.4 < thresholds["P1"] <= 0.7


def test_evaluation_report_is_written(pipeline: dict[str, Path]) -> None:
    from training.card import model_card
    from training.evaluate import evaluate, report

    res = evaluate(
        pipeline["model"],
        pipeline["data"],
        latency_repeats=3,
        parity_path=pipeline["root"] / "onnx" / "parity.json",
    )
    text = report(res)
    assert "macro F1" in text and "| P1 |" in text and "Parity fp32 vs int8" in text
    assert 0.0 <= res["macro_f1"] <= 1.0  # type: ignore[operator]
    assert "MIT" in model_card(res)


def test_false_positive_cap_raises_the_noisy_category_only() -> None:
    rng = np.random.default_rng(0)
    n = 400
    truth = np.zeros((n, len(CATEGORY_CODES)), dtype=int)
    truth[:100, 0] = 1                    # 100 P1 rows, 300 safe rows
    probs = rng.uniform(0.0, 0.1, size=truth.shape)
    probs[:100, 0] = rng.uniform(0.7, 1.0, 100)
    probs[100:160, 0] = rng.uniform(0.3, 0.6, 60)   # P1 fires on 60 safe rows below its true scores
    probs[160:166, 5] = 0.9                          # S1 fires on 6 safe rows at a true-looking score
    truth[300:310, 5] = 1
    probs[300:310, 5] = 0.9                          # ... the score of its 10 true rows
    start = {c: 0.25 for c in CATEGORY_CODES}
    capped = cap_false_positives(probs, truth, start, max_rate=0.03)
    safe = truth.sum(axis=1) == 0
    flagged = (probs[safe] >= np.array([capped[c] for c in CATEGORY_CODES])).any(axis=1).mean()
    assert flagged <= 0.03
    assert capped["P1"] > 0.5                  # raised past most false positives ...
    assert (probs[:100, 0] >= capped["P1"]).all()  # ... and no true one lost
    assert capped["S1"] == 0.25                # raising S1 would cost true rows; P1 alone meets the budget


def test_teacher_layers_are_evenly_spaced_and_end_with_the_last() -> None:
    assert teacher_layers(6, 12) == [1, 3, 5, 7, 9, 11]
    assert teacher_layers(4, 12) == [2, 5, 8, 11]
    assert teacher_layers(2, 2) == [0, 1]


def test_distill_loss_has_no_gradient_when_the_student_matches_the_teacher() -> None:
    gen = torch.Generator().manual_seed(0)
    cat = torch.randn(3, len(CATEGORY_CODES), generator=gen)
    tag = torch.randn(3, 5, len(TAGS), generator=gen)
    tags = torch.zeros(3, 5, dtype=torch.long)
    tags[:, 0] = IGNORE
    soft = [SoftTargets(cat[r].clone(), tag[r].half()) for r in range(3)]
    student_cat = cat.clone().requires_grad_(True)
    student_tag = tag.half().float().requires_grad_(True)  # the teacher's tags are stored in fp16
    distill_loss(student_cat, student_tag, soft, tags, temperature=2.0).backward()
    assert student_cat.grad is not None and student_tag.grad is not None
    assert float(student_cat.grad.abs().max()) < 1e-6
    assert float(student_tag.grad.abs().max()) < 1e-6
    moved = (cat + 1.0).requires_grad_(True)
    distill_loss(moved, student_tag.detach(), soft, tags, temperature=2.0).backward()
    assert moved.grad is not None and float(moved.grad.abs().max()) > 1e-3


def test_a_distilled_student_starts_from_the_teachers_layers_and_trains(pipeline: dict[str, Path]) -> None:
    root = pipeline["root"]
    teacher_cfg = json.loads((root / "ckpt" / "train_config.json").read_text())
    teacher_state = torch.load(root / "ckpt" / "model.pt")
    start = TrainConfig(**{**teacher_cfg, "layers": 1, "steps": 0, "teacher": str(root / "ckpt"),
                           "out": str(root / "student0")})
    student = torch.load(train(start))
    for name, value in student.items():  # layer 0 of the student is layer 1 of the teacher
        assert torch.equal(value, teacher_state[name.replace("layer.0.", "layer.1.")]), name
    trained = torch.load(train(replace(start, steps=6, out=str(root / "student"))))
    assert trained.keys() == student.keys()
    assert any(not torch.equal(trained[k], student[k]) for k in student if k.startswith("encoder.encoder"))
    assert all(bool(torch.isfinite(v).all()) for v in trained.values())


def test_init_continues_from_a_checkpoint(pipeline: dict[str, Path]) -> None:
    root = pipeline["root"]
    cfg = json.loads((root / "ckpt" / "train_config.json").read_text())
    again = torch.load(train(TrainConfig(**{**cfg, "steps": 0, "init": str(root / "ckpt"),
                                            "out": str(root / "continued")})))
    saved = torch.load(root / "ckpt" / "model.pt")
    assert again.keys() == saved.keys()
    assert all(torch.equal(again[k], saved[k]) for k in saved)


def test_only_trains_the_named_parameters_alone(pipeline: dict[str, Path]) -> None:
    root = pipeline["root"]
    cfg = json.loads((root / "ckpt" / "train_config.json").read_text())
    trained = torch.load(train(TrainConfig(**{**cfg, "steps": 4, "init": str(root / "ckpt"), "only": "attend",
                                              "out": str(root / "attend_only")})))
    saved = torch.load(root / "ckpt" / "model.pt")
    changed = {k for k in saved if not torch.equal(trained[k], saved[k])}
    assert changed == {"attend.weight"}


def test_recover_finds_every_trained_weight_in_the_int8_graph(pipeline: dict[str, Path]) -> None:
    import onnx

    from training.recover import graph_weights

    saved = torch.load(pipeline["root"] / "ckpt" / "model.pt")
    found = graph_weights(onnx.load(str(pipeline["model"] / "model.onnx")))
    trained = [k for k in saved if not k.startswith("encoder.embeddings.")]
    assert trained and set(trained) <= set(found)
    for name in trained:
        want = saved[name].numpy()
        step = np.abs(want).max(axis=-1, keepdims=True) / 127 if want.ndim == 2 else 0.0  # int8 per column
        assert found[name].shape == want.shape
        assert np.all(np.abs(found[name] - want) <= step / 2 + 1e-6), name
