"""Bench-only stand-in model: the base encoder with random heads, exported like a shipped model folder.

Speed depends on the architecture (layers, width, vocabulary), not on the weights, so until (or besides)
models/kguard-ko-small the benchmarks can run on the base model with untrained heads. Writes
bench/.work/me5s-koen-L<layers>-<quant>/ with model.onnx, tokenizer.json and labels.json. Needs the
train extra (torch, transformers) and training/work/base/me5s-koen (python -m training.base_model).

    python -m bench.export_base --layers 6 [--quant int8|fp32] [--base DIR] [--offline-fusion] [--fast-gelu]
    python -m bench.export_base --refuse training/work/onnx/model.fp32.onnx --like models/kguard-ko-small

--offline-fusion applies onnxruntime.transformers' BERT fusions (attention, bias+GELU) to the fp32 graph
before quantizing, with SkipLayerNorm fusion off (slower on this CPU); --fast-gelu also approximates GELU
(tanh form: changes outputs slightly, so the evaluation must be re-run before shipping it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import BASE_MODEL, WORK  # noqa: E402
from guard.taxonomy import CATEGORY_CODES, TAGS  # noqa: E402


def offline_fusion(src: Path, dst: Path, hidden: int, heads: int, fast_gelu: bool) -> Path:
    """onnxruntime.transformers' BERT fusions on an fp32 graph, SkipLayerNormalization left unfused."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    options.enable_gelu_approximation = fast_gelu
    model = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                           optimization_options=options, opt_level=0)
    model.save_model_to_file(str(dst))
    return dst


def export(base: Path, layers: int, quant: str, out: Path | None = None, *, fusion: bool = False,
           fast_gelu: bool = False) -> Path:
    """Export the first `layers` layers of `base` plus random heads; return the model folder."""
    import torch

    from guard.engine.tokenize import TextEncoder
    from training.train import build_model

    suffix = ("-fused" if fusion else "") + ("-fastgelu" if fast_gelu else "")
    out = out or WORK / f"me5s-koen-L{layers}-{quant}{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    encoder = TextEncoder.from_file(base / "tokenizer.json")
    torch.manual_seed(0)
    model = build_model(base, layers, encoder.sep_id).eval()
    ids = torch.tensor([[encoder.cls_id, 100, 200, 300, encoder.sep_id, encoder.sep_id, 400, encoder.sep_id]])
    fp32 = out / ("model.onnx" if quant == "fp32" else "model-fp32.onnx")
    dims = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids)),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["category_logits", "tag_logits"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={
                "input_ids": dims,
                "attention_mask": dims,
                "category_logits": {0: "batch"},
                "tag_logits": dims,
            },
        )
    if fusion:
        cfg = model.encoder.config
        fp32 = offline_fusion(fp32, out / "model-fp32-fused.onnx", cfg.hidden_size, cfg.num_attention_heads,
                              fast_gelu)
    if quant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # The same recipe as the shipped model's dynamic int8 (u8 activations, s8 weights, MatMul only).
        quantize_dynamic(
            str(fp32),
            str(out / "model.onnx"),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"] if fusion else ["MatMul"],
            per_channel=False,
            # fused contrib ops defeat shape inference; their outputs are fp32
            extra_options={"DefaultTensorType": 1},
        )
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    labels = {
        "name": f"bench-me5s-koen-L{layers}",
        "version": "0.0.0-bench",
        "base_model": str(base),
        "categories": list(CATEGORY_CODES),
        "tags": list(TAGS),
        "thresholds": {c: 0.5 for c in CATEGORY_CODES},
        "max_length": 128,
        "stride": 32,
        "context_tokens": 48,
        "quant": quant,
    }
    (out / "labels.json").write_text(json.dumps(labels, indent=2))
    return out


def refuse(fp32: Path, like: Path, out: Path, *, fast_gelu: bool = False) -> Path:
    """A trained model's fp32 graph fused with SkipLayerNorm left unfused, then quantized with the shipped
    recipe (training/export.py: dynamic int8, per channel, embedding too); tokenizer and labels from
    `like`. The proposed export, to compare against the shipped model.onnx in one bench run."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    fused = offline_fusion(fp32, out / "model-fp32-fused.onnx", 384, 12, fast_gelu)
    quantize_dynamic(
        str(fused),
        str(out / "model.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        op_types_to_quantize=["MatMul", "Gather", "Attention", "EmbedLayerNormalization"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    for name in ("tokenizer.json", "labels.json"):
        shutil.copy(like / name, out / name)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--quant", choices=("int8", "fp32"), default="int8")
    parser.add_argument("--base", type=Path, default=BASE_MODEL)
    parser.add_argument("--offline-fusion", action="store_true", help="BERT fusions before quantizing")
    parser.add_argument("--fast-gelu", action="store_true", help="with --offline-fusion: tanh GELU")
    parser.add_argument("--refuse", type=Path, help="a trained fp32 graph to re-fuse (SkipLayerNorm off)")
    parser.add_argument("--like", type=Path, help="with --refuse: the model folder it belongs to")
    args = parser.parse_args(argv)
    if args.refuse:
        suffix = "-noskipln" + ("-fastgelu" if args.fast_gelu else "")
        print(refuse(args.refuse, args.like, WORK / f"{args.like.name}{suffix}", fast_gelu=args.fast_gelu))
        return
    print(export(args.base, args.layers, args.quant, fusion=args.offline_fusion, fast_gelu=args.fast_gelu))


if __name__ == "__main__":
    main()
