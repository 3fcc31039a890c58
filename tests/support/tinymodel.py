"""A tiny model folder for tests, built without torch: `build_tiny_model(dir) -> dir`.

It has the exact signature of a real model folder (docs/ARCHITECTURE.md): model.onnx with inputs
input_ids / attention_mask int64 [batch, seq] and outputs category_logits [batch, 14] and
tag_logits [batch, seq, len(TAGS)], a `tokenizers` tokenizer.json and labels.json.

The graph is three lookup tables, so scores are known exactly:
    category_logits = max over unmasked positions of CAT_TABLE[input_ids]   (Gather + masked ReduceMax)
                      + sum over unmasked positions of PAIR_TABLE[input_ids] (Gather + masked ReduceSum)
    tag_logits      = TAG_TABLE[input_ids]                                   (Gather)
Every token has category logit BASE_LOGIT for every code, except the words in TRIGGERS, which have
TRIGGER_LOGIT for their code. Because the score is a max, it does not depend on the text's length, so a
trigger anywhere in a long text gives the same score (`trigger_score()`), in any window.
The words in PAIR_WORDS add PAIR_LOGIT to their code each: one alone stays under 0.5 (`pair_alone_score()`),
both in one window give `trigger_score()`, as two unrelated sentences side by side can read as a
disclosure to a real model (the engine's sentence check).
`<pad>` has TRIGGER_LOGIT for PAD_TRAP: a runtime that forgets the attention mask would score P5.
Token tags: every word is "O" except the words in TAG_WORDS (e.g. "kim" B-PERSON, "minsu" I-PERSON).

The tokenizer is a WordLevel over whitespace-separated words (`WhitespaceSplit`), so one word is one
token and "010-1234-5678" stays whole. Unknown words map to `<unk>` (scored like any plain word).
canaries.json (guard.selftest) holds CANARIES: a trigger word beside a valid identifier, and plain words.

Usage:
    from tests.support.tinymodel import build_tiny_model
    model_dir = build_tiny_model(tmp_path / "tiny")            # -> Path to the folder
    engine = OnnxEngine(EngineConfig(model_dir=model_dir))
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, pre_tokenizers

from guard.taxonomy import CATEGORY_CODES, TAGS

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")  # XLM-R's ids 0..3
#: word -> category code it triggers.
TRIGGERS: dict[str, str] = {
    "주민번호": "P1",
    "계좌": "P2",
    "전화번호": "P3",
    "password": "P4",
    "우울증": "S1",
    "전과": "S7",
}
#: word -> category code it pushes towards: one alone is not enough, both in one window are.
PAIR_WORDS: dict[str, str] = {"유전자": "S6", "아버지": "S6"}
#: word -> token tag.
TAG_WORDS: dict[str, str] = {
    "kim": "B-PERSON",
    "minsu": "I-PERSON",
    "010-1234-5678": "B-PHONE",
    "a@b.kr": "B-EMAIL",
}
PLAIN_WORDS = ("user", "assistant", "user:", "assistant:", "hello", "world", "오늘", "날씨", "좋다",
               "the", "a", "is", "my", "name", "number", "call", "me")
#: The start-up self-test's canaries for this model: (text, flags); no flags means safe.
CANARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("my 주민번호 900101-1234568", ("P1",)),
    ("call me 전화번호 010-2345-6789", ("P3",)),
    ("hello world 오늘 날씨 좋다", ()),
)
PAD_TRAP = "P5"
BASE_LOGIT = -6.0
TRIGGER_LOGIT = 3.0
TAG_LOGIT = 6.0  # the chosen tag's logit; all others 0
PAIR_LOGIT = (TRIGGER_LOGIT - BASE_LOGIT) / 2


def trigger_score() -> float:
    """The probability a trigger word gives its category."""
    return 1.0 / (1.0 + math.exp(-TRIGGER_LOGIT))


def pair_alone_score() -> float:
    """The probability one pair word alone gives its category."""
    return 1.0 / (1.0 + math.exp(-(BASE_LOGIT + PAIR_LOGIT)))


def base_score() -> float:
    """The probability of every category no trigger word fired."""
    return 1.0 / (1.0 + math.exp(-BASE_LOGIT))


def tag_prob() -> float:
    """The softmax probability of every token's chosen tag."""
    return math.exp(TAG_LOGIT) / (math.exp(TAG_LOGIT) + len(TAGS) - 1)


def vocab() -> dict[str, int]:
    """Token -> id of the tiny tokenizer."""
    words = [*SPECIALS, *PLAIN_WORDS, *TRIGGERS, *TAG_WORDS, *PAIR_WORDS]
    return {w: i for i, w in enumerate(dict.fromkeys(words))}


def build_tiny_model(dir: Path, *, max_length: int = 32, stride: int = 8, context_tokens: int = 8,
                     token_type_ids: bool = False) -> Path:
    """Write model.onnx, tokenizer.json and labels.json into `dir` (created) and return `dir`.

    Args:
        dir: the folder to write; parents are created.
        max_length: labels.json max_length (small, so short texts already need several windows).
        stride: labels.json stride (tokens shared by neighbouring windows).
        context_tokens: labels.json context_tokens.
        token_type_ids: add the optional token_type_ids input (it has no effect on the outputs).
    """
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    ids = vocab()
    _tokenizer(ids).save(str(dir / "tokenizer.json"))
    onnx.save(_graph(ids, token_type_ids), str(dir / "model.onnx"))
    labels = {
        "name": "kguard-tiny-test", "version": "0.0.1", "base_model": "none",
        "categories": list(CATEGORY_CODES), "tags": list(TAGS),
        "thresholds": {code: 0.5 for code in CATEGORY_CODES},
        "max_length": max_length, "stride": stride, "context_tokens": context_tokens, "quant": "fp32",
    }
    (dir / "labels.json").write_text(json.dumps(labels, indent=2), encoding="utf-8")
    canaries = [{"id": f"c{i}", "role": "user", "text": text, **({"flags": list(flags)} if flags else {"safe": True})}
                for i, (text, flags) in enumerate(CANARIES)]
    (dir / "canaries.json").write_text(json.dumps({"canaries": canaries}, ensure_ascii=False, indent=2),
                                       encoding="utf-8")
    return dir


def _tokenizer(ids: dict[str, int]) -> Tokenizer:
    tok = Tokenizer(models.WordLevel(vocab=ids, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens(list(SPECIALS))
    return tok


def _tables(ids: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cat = np.full((len(ids), len(CATEGORY_CODES)), BASE_LOGIT, dtype=np.float32)
    pair = np.zeros((len(ids), len(CATEGORY_CODES)), dtype=np.float32)
    for word, code in PAIR_WORDS.items():
        pair[ids[word], CATEGORY_CODES.index(code)] = PAIR_LOGIT
    for word, code in TRIGGERS.items():
        cat[ids[word], CATEGORY_CODES.index(code)] = TRIGGER_LOGIT
    cat[ids["<pad>"], CATEGORY_CODES.index(PAD_TRAP)] = TRIGGER_LOGIT
    tag = np.zeros((len(ids), len(TAGS)), dtype=np.float32)
    tag[:, TAGS.index("O")] = TAG_LOGIT
    for word, name in TAG_WORDS.items():
        tag[ids[word], TAGS.index("O")] = 0.0
        tag[ids[word], TAGS.index(name)] = TAG_LOGIT
    return cat, pair, tag


def _graph(ids: dict[str, int], token_type_ids: bool) -> onnx.ModelProto:
    cat, pair, tag = _tables(ids)
    dims = ["batch", "seq"]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)]
    nodes = [
        helper.make_node("Gather", ["cat_table", "input_ids"], ["cat_tok"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
        helper.make_node("Sub", ["mask3", "one"], ["mask_off"]),       # 0 kept, -1 padded
        helper.make_node("Mul", ["mask_off", "big"], ["penalty"]),
        helper.make_node("Add", ["cat_tok", "penalty"], ["cat_masked"]),
        helper.make_node("ReduceMax", ["cat_masked"], ["cat_max"], axes=[1], keepdims=0),
        helper.make_node("Gather", ["pair_table", "input_ids"], ["pair_tok"], axis=0),
        helper.make_node("Mul", ["pair_tok", "mask3"], ["pair_kept"]),
        helper.make_node("ReduceSum", ["pair_kept", "axis1"], ["pair_sum"], keepdims=0),
        helper.make_node("Add", ["cat_max", "pair_sum"], ["category_logits"]),
        helper.make_node("Gather", ["tag_table", "input_ids"], ["tag_tok"], axis=0),
    ]
    if token_type_ids:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, dims))
        # Consumed (times zero) so the input stays in the graph, as in BERT-style exports.
        nodes += [
            helper.make_node("Cast", ["token_type_ids"], ["tt_f"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["tt_f", "axis2"], ["tt3"]),
            helper.make_node("Mul", ["tt3", "zero"], ["tt0"]),
            helper.make_node("Add", ["tag_tok", "tt0"], ["tag_logits"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["tag_tok"], ["tag_logits"]))
    inits = [
        numpy_helper.from_array(cat, "cat_table"),
        numpy_helper.from_array(pair, "pair_table"),
        numpy_helper.from_array(tag, "tag_table"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(1e4, dtype=np.float32), "big"),
    ]
    if token_type_ids:
        inits.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"))
    outputs = [
        helper.make_tensor_value_info("category_logits", TensorProto.FLOAT, ["batch", len(CATEGORY_CODES)]),
        helper.make_tensor_value_info("tag_logits", TensorProto.FLOAT, ["batch", "seq", len(TAGS)]),
    ]
    graph = helper.make_graph(nodes, "kguard_tiny", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="kguard-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
