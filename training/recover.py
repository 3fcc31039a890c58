"""A training checkpoint rebuilt from a shipped model folder, to continue training from it.

    python -m training.recover [--model models/kguard-ko-small] [--out training/work/ckpt_recovered]

Checkpoints live in training/work and are not kept; the shipped folder is. Its int8 graph holds every
trained weight: each MatMul's int8 weight times its per-column scale (training/quantize.py) is the
transposed Linear weight to within half a quantization step, biases and LayerNorms are fp32 as trained,
and the fused attention's input projection is Q, K and V side by side. The embeddings are frozen in
training (TrainConfig.freeze_embeddings), so they come exactly from the untrimmed base model (`python -m
training.base_model`), cut to the folder's own vocabulary (the trimmed vocabulary depends on the corpus
it was trimmed with) into `training/work/base/me5s-<model name>`: train on with `--base` that folder and
`--init` the checkpoint. The rebuilt model in fp32 is checked against the folder's own engine on real
sentences before it is written (ModelError past `--max-diff` in mean |dprob|).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from guard.engine.base import EngineInput
from guard.engine.tokenize import TextEncoder
from guard.errors import ModelError
from training.paths import BASE, MODEL_DIR, WORK
from training.train import ADDED_LATER, HEADS, GuardModel, TrainConfig, build_model, save
from training.vocab import write_trimmed

logger = logging.getLogger(__name__)

_LAYER = re.compile(r"/encoder/encoder/layer\.(\d+)/(.+)/MatMul_output_0_w8$|"
                    r"/encoder/encoder/layer\.(\d+)/attention/self/Reshape_3_output_0_qkv_w8$")
_QKV = {"q": "query", "k": "key", "v": "value"}  # the fused projection's thirds, in order


def graph_weights(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """torch state-dict name -> fp32 array, for every trained weight the graph holds."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if node.op_type == "MatMulIntegerToFloat":
            w8, scale = inits[node.input[1]], inits[node.input[3]]
            out.update(_linear(node.input[1], (w8.astype(np.float32) * scale).T))
        elif node.op_type == "MultiHeadAttention":
            layer = int(re.search(r"layer\.(\d+)/", node.output[0]).group(1))  # type: ignore[union-attr]
            for part, b in zip("qkv", np.split(inits[node.input[3]], 3), strict=True):
                out[f"encoder.encoder.layer.{layer}.attention.self.{_QKV[part]}.bias"] = b
    for name, value in inits.items():
        if name.startswith(("encoder.encoder.layer.", *(f"{head}." for head in HEADS))) and value.dtype == np.float32:
            out[name] = value
    return out


def _linear(init_name: str, weight: np.ndarray) -> dict[str, np.ndarray]:
    """The state-dict entries of one quantized MatMul weight ([out, in], as nn.Linear keeps it)."""
    # "category_logits_": the category layer of a mean-pooling graph, where it is the last node
    for prefix, head in (("/tags/", "tags"), ("/category/", "category"), ("category_logits_", "category"),
                         ("/attend/", "attend")):
        if init_name.startswith(prefix):
            return {f"{head}.weight": weight}
    m = _LAYER.match(init_name)
    if m is None:
        raise ModelError(f"model.onnx: unexpected quantized weight {init_name}")
    if m.group(3) is not None:  # Q, K and V side by side
        layer = m.group(3)
        return {f"encoder.encoder.layer.{layer}.attention.self.{_QKV[p]}.weight": w
                for p, w in zip("qkv", np.split(weight, 3, axis=0), strict=True)}
    layer, module = m.group(1), m.group(2).replace("/", ".")
    return {f"encoder.encoder.layer.{layer}.{module}.weight": weight}


def rebuild(folder: Path, cfg: TrainConfig) -> GuardModel:
    """The base model with every trained weight of `folder`'s graph; raises ModelError on a mismatch."""
    encoder = TextEncoder.from_file(Path(cfg.base) / "tokenizer.json")
    model = build_model(cfg.base, cfg.layers, encoder.sep_id)
    state = model.state_dict()
    found = graph_weights(onnx.load(str(folder / "model.onnx")))
    trained = [k for k in state if not k.startswith("encoder.embeddings.")]
    missing = sorted(set(trained) - set(found) - ADDED_LATER)
    if missing:
        raise ModelError(f"model.onnx holds no weight for {missing[:3]} ({len(missing)} in all)")
    for name in (k for k in trained if k in found):
        if tuple(found[name].shape) != tuple(state[name].shape):
            raise ModelError(f"model.onnx: {name} has shape {found[name].shape}, expected {tuple(state[name].shape)}")
        state[name] = torch.from_numpy(np.ascontiguousarray(found[name]))
    model.load_state_dict(state)
    return model.eval()


def base_for(folder: Path, full: Path = BASE / "me5s") -> Path:
    """The untrimmed base model cut to `folder`'s vocabulary, piece by piece (written once)."""
    dst = BASE / f"me5s-{folder.name}"
    ours = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    if not (dst / "tokenizer.json").is_file():
        pieces = json.loads((full / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
        index = {piece: i for i, (piece, _) in enumerate(pieces)}
        unknown = [piece for piece, _ in ours if piece not in index]
        if unknown:
            raise ModelError(f"{folder.name}/tokenizer.json has {len(unknown)} pieces the base model lacks")
        write_trimmed(full, dst, [index[piece] for piece, _ in ours])
    if json.loads((dst / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"] != ours:
        raise ModelError(f"{dst} does not hold {folder.name}'s vocabulary")
    return dst


def parity(model: GuardModel, folder: Path, texts: list[str]) -> float:
    """Mean |dprob| between the rebuilt fp32 model and the folder's engine on one-window texts."""
    from training.infer import engine

    eng = engine(folder)
    diffs = []
    for text in texts:
        (window,) = eng.encoder.windows(EngineInput(text))
        ids = torch.tensor([window.input_ids])
        with torch.no_grad():
            ours = torch.sigmoid(model(ids, torch.ones_like(ids))[0])[0].numpy()
        (out,) = eng.predict([EngineInput(text)])
        diffs.append(np.abs(ours - np.array([out.scores[c] for c in eng.labels.categories])).mean())
    return float(np.mean(diffs))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODEL_DIR)
    ap.add_argument("--out", type=Path, default=WORK / "ckpt_recovered")
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--max-diff", type=float, default=0.02)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    labels = json.loads((args.model / "labels.json").read_text(encoding="utf-8"))
    cfg = replace(TrainConfig(), base=str(base_for(args.model)), out=str(args.out),
                  max_length=labels["max_length"], stride=labels["stride"],
                  context_tokens=labels["context_tokens"])
    model = rebuild(args.model, cfg)
    from training.realtext.corpora import all_rows

    texts = [r.text for r in all_rows() if not r.passage and 15 <= len(r.text) <= 100][: args.texts]
    diff = parity(model, args.model, texts)
    logger.info("rebuilt model vs %s on %d real sentences: mean |dprob| %.4f", args.model, len(texts), diff)
    if diff > args.max_diff:
        raise ModelError(f"rebuilt model differs from {args.model}: mean |dprob| {diff:.4f}")
    args.out.mkdir(parents=True, exist_ok=True)
    save(model, cfg, args.out)
    print(json.dumps({"out": str(args.out), "mean_abs_dprob": round(diff, 5), **asdict(cfg)}, indent=1))


if __name__ == "__main__":
    main()
