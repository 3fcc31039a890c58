"""Scenario (d): how close the model runs to this machine's int8 matrix-multiply limit.

cost      from the model's own graph: every MatMul/MatMulInteger/Gemm with a constant weight [K, N]
          costs 2*K*N operations per token; the attention products (QK^T and AV, both inputs dynamic)
          cost 4*S*H per token per layer at window length S. Summed over the workload's real
          (unpadded) windows this is the useful work per text.
achieved  engine texts/s on chat turns at batch 32 (measured here) times the useful work per text
peak      onnxruntime on one-node graphs at the model's weight shapes, M = batch * window rows:
          (1) MatMulInteger on ready uint8/int8 inputs (the GEMM kernel alone) and (2) the dynamic
          quantization pattern the model uses (DynamicQuantizeLinear + MatMulInteger + scale, which
          onnxruntime fuses), both on all cores; the model's shape mix gives the time per text
limit     texts/s if every weight product ran at the peak and everything else were free

python -m bench.roofline [--model DIR] [--batch 32] [--long] [--tiny]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from bench.common import load_workload, model_dir, report, table, throughput
from guard.config import EngineConfig
from guard.engine.base import EngineInput
from guard.engine.onnx import OnnxEngine

_WEIGHT_OPS = ("MatMul", "MatMulInteger", "Gemm", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
               "Attention", "QAttention")


def graph_cost(path: Path) -> dict[str, Any]:
    """Weight shapes (K, N) -> count, hidden size and attention products of a model graph."""
    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
    shapes: Counter[tuple[int, int]] = Counter()
    dynamic = 0
    for node in model.graph.node:
        if node.op_type not in _WEIGHT_OPS or len(node.input) < 2:
            continue
        weight = inits.get(node.input[1])
        if weight is not None and len(weight) == 2:
            shapes[(int(weight[0]), int(weight[1]))] += 1
        elif node.op_type == "MatMul" and node.input[0] not in inits:
            dynamic += 1
        if node.op_type in ("Attention", "QAttention"):  # a fused layer holds both attention products
            dynamic += 2
    hidden = (
        Counter(k for (k, _n), c in shapes.items() for _ in range(c)).most_common(1)[0][0] if shapes else 0
    )
    return {
        "weights": dict(shapes),
        "hidden": hidden,
        "attention_matmuls": dynamic,
        "weight_ops_per_token": sum(2 * k * n * c for (k, n), c in shapes.items()),
    }


def text_ops(cost: dict[str, Any], window: int) -> float:
    """Useful operations for one window of `window` tokens."""
    layers = cost["attention_matmuls"] // 2
    return window * (cost["weight_ops_per_token"] + 4.0 * window * cost["hidden"] * layers)


def _gemm_graph(m: int, k: int, n: int, dynamic: bool) -> bytes:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "w")
    wz = numpy_helper.from_array(np.array(0, dtype=np.int8), "wz")
    if dynamic:
        inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])]
        scale = numpy_helper.from_array(np.array(0.01, dtype=np.float32), "ws")
        nodes = [
            helper.make_node("DynamicQuantizeLinear", ["a"], ["aq", "as", "az"]),
            helper.make_node("MatMulInteger", ["aq", "w", "az", "wz"], ["acc"]),
            helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["as", "ws"], ["s"]),
            helper.make_node("Mul", ["accf", "s"], ["y"]),
        ]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])
        inits = [w, wz, scale]
    else:
        inputs = [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])]
        az = numpy_helper.from_array(np.array(128, dtype=np.uint8), "az")
        nodes = [helper.make_node("MatMulInteger", ["a", "w", "az", "wz"], ["y"])]
        out = helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])
        inits = [w, wz, az]
    graph = helper.make_graph(nodes, "gemm", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def gemm_peak(m: int, k: int, n: int, dynamic: bool, seconds: float) -> float:
    """Median operations per second of one int8 GEMM of this shape on all cores."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(_gemm_graph(m, k, n, dynamic), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    a = (
        rng.standard_normal((m, k)).astype(np.float32)
        if dynamic
        else rng.integers(0, 255, (m, k), dtype=np.uint8)
    )
    for _ in range(5):
        session.run(None, {"a": a})
    times, stop_at = [], time.perf_counter() + seconds
    while time.perf_counter() < stop_at or len(times) < 10:
        started = time.perf_counter()
        session.run(None, {"a": a})
        times.append(time.perf_counter() - started)
    return 2.0 * m * k * n / statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--batch", type=int, default=32, help="texts per model call")
    parser.add_argument("--long", action="store_true", help="more texts and longer GEMM timing")
    parser.add_argument("--tiny", action="store_true", help="a few texts only: keeps the command working")
    args = parser.parse_args(argv)
    n_texts, repeats, gemm_s = (32, 1, 0.05) if args.tiny else (2000, 5, 3.0) if args.long else (1000, 3, 1.0)
    folder = model_dir(args.model, tiny=args.tiny)
    engine = OnnxEngine(EngineConfig(model_dir=folder))
    cost = graph_cost(folder / "model.onnx")
    chat = load_workload("chat", n_texts)
    inputs = [EngineInput(r.text) for r in chat]
    windows = [len(w.input_ids) for i in inputs for w in engine.encoder.windows(i)]
    mean_window = statistics.fmean(windows)
    ops_per_text = statistics.fmean(text_ops(cost, w) for w in windows)
    batches = [inputs[i : i + args.batch] for i in range(0, len(inputs), args.batch)]
    rate = throughput(lambda: sum(len(engine.predict(b)) for b in batches), repeats=repeats)
    achieved = rate["median"] * ops_per_text

    m = args.batch * int(round(mean_window))
    shapes = cost["weights"] or {(8, 8): 1}
    peaks: dict[str, dict[str, float]] = {"kernel": {}, "dynamic": {}}
    for k, n in shapes:
        for kind in peaks:
            peaks[kind][f"{k}x{n}"] = gemm_peak(m, k, n, kind == "dynamic", gemm_s)
    weight_ops = {f"{k}x{n}": 2.0 * k * n * c * mean_window for (k, n), c in shapes.items()}
    limits, mix_peak = {}, {}
    for kind, per_shape in peaks.items():
        seconds_per_text = sum(weight_ops[s] / per_shape[s] for s in per_shape)
        limits[kind] = 1.0 / seconds_per_text
        mix_peak[kind] = sum(weight_ops.values()) / seconds_per_text

    rows = [
        [s, f"{weight_ops[s] / 1e6:.1f}", peaks["kernel"][s] / 1e9, peaks["dynamic"][s] / 1e9]
        for s in weight_ops
    ]
    md = [
        f"Model `{folder.name}` ({engine.info.quant}): {sum(shapes.values())} weight products, hidden "
        f"{cost['hidden']}, {cost['attention_matmuls'] // 2} layers. "
        f"Chat turns: mean window {mean_window:.1f} "
        f"tokens, **{ops_per_text / 1e9:.3f} GOP per text** (useful work, no padding). GEMM rows M = "
        f"{args.batch} x {round(mean_window)} = {m}.",
        "",
        table(["weight K x N", "MOP per text", "kernel GOP/s", "dynamic-quant GOP/s"], rows),
        "",
        table(
            ["", "GOP/s", "texts/s", "achieved / this"],
            [
                ["achieved: engine, batch " + str(args.batch), achieved / 1e9, rate["median"], "1.00"],
                [
                    "limit: int8 GEMM kernel peak, shape mix",
                    mix_peak["kernel"] / 1e9,
                    limits["kernel"],
                    f"{achieved / mix_peak['kernel']:.2f}",
                ],
                [
                    "limit: dynamic-quantization pattern, shape mix",
                    mix_peak["dynamic"] / 1e9,
                    limits["dynamic"],
                    f"{achieved / mix_peak['dynamic']:.2f}",
                ],
            ],
        ),
        "",
        f"Engine throughput spread over {rate['n']} passes: {rate['min']:,.0f}-{rate['max']:,.0f} texts/s.",
    ]
    text = "\n".join(md)
    print(text)
    report(
        "roofline",
        {
            "model": str(folder),
            "cost": {**cost, "weights": {f"{k}x{n}": c for (k, n), c in shapes.items()}},
            "mean_window": mean_window,
            "ops_per_text": ops_per_text,
            "engine_rate": rate,
            "achieved_ops_per_s": achieved,
            "gemm_rows": m,
            "peak_ops_per_s": peaks,
            "mix_peak_ops_per_s": mix_peak,
            "limit_texts_per_s": limits,
            "fraction_of_kernel_peak": achieved / mix_peak["kernel"],
        },
        text,
        smoke=args.tiny,
    )


if __name__ == "__main__":
    main()
