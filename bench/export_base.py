"""Bench-only stand-in model: the base encoder with random heads, exported like a shipped model folder.

Speed depends on the architecture (layers, width, vocabulary), not on the weights, so until (or besides)
models/kguard-ko-small the benchmarks can run on the base model with untrained heads. Writes
bench/.work/me5s-koen-L<layers>-<quant>/ with model.onnx, tokenizer.json and labels.json. Needs the
train extra (torch, transformers) and training/work/base/me5s-koen (python -m training.base_model).

    python -m bench.export_base --layers 6 [--quant int8|fp32] [--base DIR]
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


def export(base: Path, layers: int, quant: str, out: Path | None = None) -> Path:
    """Export the first `layers` layers of `base` plus random heads; return the model folder."""
    import torch

    from guard.engine.tokenize import TextEncoder
    from training.train import build_model

    out = out or WORK / f"me5s-koen-L{layers}-{quant}"
    out.mkdir(parents=True, exist_ok=True)
    encoder = TextEncoder.from_file(base / "tokenizer.json")
    torch.manual_seed(0)
    model = build_model(base, layers, encoder.sep_id).eval()
    ids = torch.tensor([[encoder.cls_id, 100, 200, 300, encoder.sep_id, encoder.sep_id, 400, encoder.sep_id]])
    fp32 = out / ("model.onnx" if quant == "fp32" else "model-fp32.onnx")
    dims = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(model, (ids, torch.ones_like(ids)), str(fp32), input_names=["input_ids", "attention_mask"],
                          output_names=["category_logits", "tag_logits"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": dims, "attention_mask": dims,
                                        "category_logits": {0: "batch"}, "tag_logits": dims})
    if quant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # The same recipe as the shipped model's dynamic int8 (u8 activations, s8 weights, MatMul only).
        quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], per_channel=False)
    shutil.copy(base / "tokenizer.json", out / "tokenizer.json")
    labels = {"name": f"bench-me5s-koen-L{layers}", "version": "0.0.0-bench", "base_model": str(base),
              "categories": list(CATEGORY_CODES), "tags": list(TAGS),
              "thresholds": {c: 0.5 for c in CATEGORY_CODES}, "max_length": 128, "stride": 32,
              "context_tokens": 48, "quant": quant}
    (out / "labels.json").write_text(json.dumps(labels, indent=2))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--quant", choices=("int8", "fp32"), default="int8")
    parser.add_argument("--base", type=Path, default=BASE_MODEL)
    args = parser.parse_args(argv)
    print(export(args.base, args.layers, args.quant))


if __name__ == "__main__":
    main()
