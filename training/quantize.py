"""int8 quantization of the exported fp32 graph (no torch): the one place that says how.

- dynamic: weights int8 per channel, activation scales computed at run time over the whole batch tensor.
  A text's scores then depend on what else (and how much padding) is in its batch, so it is kept only
  as the baseline the bench compares against.
- static (QDQ or QOperator): activation scales calibrated once on real Korean sentences and frozen in the
  graph, so a text's scores cannot depend on its batch (DESIGN.md, batch invariance). The fused
  embedding op is then quantized weight-only: a table lookup has no activation to scale, so this adds no
  batch dependence, and it keeps the graph under the 50 MB budget (the fp32 table alone is 98 MB).
- pertoken (the shipped form since 0.5.0): weights int8 per column, activations quantized at run time
  with one scale per token, taken over that token's own hidden vector (the last axis) only, so neither
  the other texts of a batch nor its padding can move a text's scores. A graph rewrite of the fp32 graph
  (`quantize_pertoken`); the embedding is weight-only as for static. On the real-text tune split it stays
  closest to fp32; static with every MatMul quantized runs 1.18x faster but loses 0.03 tune macro F1
  against fp32 (bench/RESULTS.md, quantization; training/README.md, run 14).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from guard.engine.base import EngineInput
from guard.engine.tokenize import TextEncoder, pad_batch

_OPS = ["MatMul", "Gather", "Attention", "EmbedLayerNormalization"]


def quantize_dynamic(src: Path, dst: Path) -> Path:
    return _quantize_dynamic(src, dst, _OPS)


def _quantize_dynamic(src: Path, dst: Path, ops: list[str]) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_dynamic

    ort_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, reduce_range=False,
                op_types_to_quantize=ops,
                # fused com.microsoft ops defeat ONNX shape inference; their tensors are float32
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return dst


class _Calibration:
    """onnxruntime's CalibrationDataReader over real texts, one unpadded window per feed."""

    def __init__(self, encoder: TextEncoder, texts: Iterable[str], feeds_token_type_ids: bool) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = self._make(encoder, list(texts), feeds_token_type_ids)

    @staticmethod
    def _make(encoder: TextEncoder, texts: list[str], token_types: bool) -> Iterator[dict[str, np.ndarray]]:
        for text in texts:
            for window in encoder.windows(EngineInput(text))[:1]:
                # one fixed width: the histogram calibrators concatenate every feed's activations
                ids, mask = pad_batch([window], encoder.pad_id)
                width = encoder.max_length - ids.shape[1]
                ids = np.pad(ids, ((0, 0), (0, width)), constant_values=encoder.pad_id)
                mask = np.pad(mask, ((0, 0), (0, width)))
                feed = {"input_ids": ids, "attention_mask": mask}
                if token_types:
                    feed["token_type_ids"] = np.zeros_like(ids)
                yield feed

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _prepared(src: Path, dst: Path) -> Path:
    """`src` made quantizable: the fused Attention ops split (`split_attention`), so their input
    projection is a MatMul too, and every tensor's type written in the graph. onnxruntime's QDQ
    quantizer leaves fp32 every MatMul whose input has no recorded type, and plain ONNX shape inference
    stops at the fused com.microsoft ops: without this 18 of the 24 encoder MatMuls of the 6-layer graph
    kept fp32 activations (before kguard-ko-small 0.5.0)."""
    import onnx
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    model = onnx.load(str(src))
    split_attention(model.graph)
    onnx.save(SymbolicShapeInference.infer_shapes(model, auto_merge=True), str(dst))
    return dst


def quantize_static(src: Path, dst: Path, encoder: TextEncoder, texts: Iterable[str], *, qdq: bool = True,
                    method: str = "percentile", ops: tuple[str, ...] = ("MatMul", "Gather"),
                    every_matmul: bool = True) -> Path:
    """Static int8 with activation ranges calibrated on `texts` (percentile 99.999 by default).

    With `every_matmul` (the default) the graph is `_prepared` first, so every MatMul, the attention's
    input projection included, gets int8 inputs; without it onnxruntime's quantizer leaves most of them
    fp32 (kguard-ko-small 0.4.0's form, kept for the bench)."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_static

    if every_matmul:
        src = _prepared(src, dst.with_suffix(".prepared.onnx"))
    names = {i.name for i in ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).get_inputs()}
    calibration = _Calibration(encoder, texts, "token_type_ids" in names)
    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    ort_static(
        str(src), str(dst), calibration,
        quant_format=QuantFormat.QDQ if qdq else QuantFormat.QOperator,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
        reduce_range=False, op_types_to_quantize=list(ops),
        calibrate_method=methods[method],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT, "CalibPercentile": 99.999,
                       "ActivationSymmetric": False, "WeightSymmetric": True},
    )
    static = dst.with_suffix(".static.onnx")
    dst.replace(static)
    _quantize_dynamic(static, dst, ["EmbedLayerNormalization", "Gather"])
    static.unlink()
    if every_matmul:
        src.unlink()
    return dst


#: How quantize_pertoken quantizes a MatMul's input, per token: "asym" (the default) uint8 over the
#: token's own [min, max] with a zero point per token; "u8" symmetric around a fixed zero point of 128;
#: "s8" symmetric int8; "auto" asym for an input that comes out of a GELU (one-sided: half of a symmetric
#: range would go unused), u8 for the rest. Measured (bench/RESULTS.md, quantization): auto as fast as u8,
#: asym 0.9x, s8 0.2x (onnxruntime's s8 x s8 kernel on AVX-512 VNNI). Real-text tune macro F1 against
#: fp32: asym +0.005 (0.3.0) and -0.002 (0.4.0's checkpoint), auto +0.002 and -0.008, u8 -0.008 (0.3.0).
ACTIVATIONS = ("asym", "auto", "u8", "s8")
_ONE_SIDED = ("BiasGelu", "Gelu", "FastGelu", "Relu")


def quantize_pertoken(src: Path, dst: Path, *, activations: str = "asym", attention: bool = True,
                      block: int = 0) -> Path:
    """Per-token dynamic int8: every MatMul with a constant 2-D weight W becomes

        s = max(|x| over the last axis) / 127                one scale per token, shape [batch, seq, 1]
        y = MatMulIntegerToFloat(QuantizeLinear(x, s, 128), W8, 1, w_scale, 128) * s

    W8 is int8 per output column. onnxruntime's integer MatMul kernels take one activation scale and
    zero point per call, so the per-token scale multiplies the product afterwards; with a zero point
    per token ("asym", see ACTIVATIONS) it is taken off afterwards too, as zp * colsum(W8). With
    `attention` the fused Attention op's input projection is quantized the same way and the op becomes
    MultiHeadAttention over the projected Q, K and V; else it stays fp32. `block` > 0 uses onnxruntime's
    MatMulNBits kernel instead (8-bit weights in blocks of `block` along the input axis; with
    accuracy_level 4 it quantizes each row of the input per block itself), for the bench only: slower
    here, and with blocks of 128 a text's scores moved with its batch (by 1e-4 to 7e-3 across runs).
    """
    import onnx

    embed = dst.with_suffix(".embed.onnx")
    _quantize_dynamic(src, embed, ["EmbedLayerNormalization", "Gather"])
    model = onnx.load(str(embed))
    embed.unlink()
    if attention:
        split_attention(model.graph)
    _PerToken(model.graph, activations, block).rewrite()
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = max(opset.version, 21)  # QuantizeLinear with one block per token
    model.ir_version = max(model.ir_version, 10)
    onnx.save(model, str(dst))
    return dst


def split_attention(graph: Any) -> None:
    """Rewrite, in place, each fused Attention op with a constant weight as its input projection (a
    plain MatMul, which the quantizers can then quantize), a Split into Q, K and V, and
    MultiHeadAttention over them with the same bias, mask and attributes."""
    from onnx import helper, numpy_helper

    weights = {i.name: i for i in graph.initializer if len(i.dims) == 2}
    nodes = []
    for node in graph.node:
        if node.op_type != "Attention" or node.input[1] not in weights:
            nodes.append(node)
            continue
        qkv = node.output[0] + "_qkv"
        width = weights[node.input[1]].dims[1] // 3
        q, k, v = (f"{qkv}_{part}" for part in "qkv")
        sizes = qkv + "_split"
        graph.initializer.append(numpy_helper.from_array(np.array([width] * 3, dtype=np.int64), sizes))
        nodes.append(helper.make_node("MatMul", [node.input[0], node.input[1]], [qkv]))
        nodes.append(helper.make_node("Split", [qkv, sizes], [q, k, v], axis=-1))
        # Attention's input 2 is the bias of Q, K and V, input 3 the mask (lengths per row)
        nodes.append(helper.make_node(
            "MultiHeadAttention", [q, k, v, node.input[2], node.input[3]], [node.output[0]],
            domain="com.microsoft", **{a.name: helper.get_attribute_value(a) for a in node.attribute}))
    del graph.node[:]
    graph.node.extend(nodes)


class _PerToken:
    """The rewrite of one graph, in place (see quantize_pertoken)."""

    def __init__(self, graph: Any, activations: str, block: int) -> None:
        from onnx import numpy_helper

        if activations not in ACTIVATIONS:
            raise ValueError(f"activations: one of {ACTIVATIONS}")
        self.graph, self.activations, self.block = graph, activations, block
        self.weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer
                        if len(i.dims) == 2 and i.data_type == 1}  # 2-D float32
        self.producers = {out: node.op_type for node in graph.node for out in node.output}
        self.nodes: list[Any] = []
        self.quantized: dict[str, tuple[str, str, str, str]] = {}

    def rewrite(self) -> None:
        used: set[str] = set()
        for node in self.graph.node:
            if node.op_type == "MatMul" and node.input[1] in self.weights:
                used.add(node.input[1])
                self._matmul(node.input[0], self.weights[node.input[1]], node.output[0])
            else:
                self.nodes.append(node)
        keep = [i for i in self.graph.initializer if i.name not in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(keep)
        del self.graph.node[:]
        self.graph.node.extend(self.nodes)

    def _const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    def _op(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], **attrs))
        return name

    def _quantize(self, x: str, width: int) -> tuple[str, str, str, str]:
        """x -> (x quantized, its scale per token, the kernel's zero point or "", the zero point per token
        as float or "")."""
        if x in self.quantized:
            return self.quantized[x]
        from onnx import TensorProto

        mode = self.activations
        if mode == "auto":
            mode = "asym" if self.producers.get(x) in _ONE_SIDED else "u8"
        axes = self._const(x + "_axes", np.array([-1], dtype=np.int64))
        eps = self._const(x + "_eps", np.array(1e-12, dtype=np.float32))
        if mode in ("u8", "s8"):
            top = self._op("ReduceMax", [self._op("Abs", [x], x + "_abs"), axes], x + "_max", keepdims=1)
            scale = self._op("Mul", [self._op("Max", [top, eps], x + "_max_eps"),
                                     self._const(x + "_by127", np.array(1 / 127, dtype=np.float32))], x + "_scale")
            if mode == "s8":
                q = self._op("QuantizeLinear", [x, scale], x + "_q8", axis=-1, block_size=width,
                             output_dtype=TensorProto.INT8)
                self.quantized[x] = (q, scale, "", "")
                return self.quantized[x]
            # uint8 around 128: onnxruntime's u8 x s8 kernel (s8 x s8 measured 5x slower on AVX-512 VNNI)
            mid = self._const(x + "_128", np.array([128], dtype=np.uint8))
            zp8 = self._op("Expand", [mid, self._op("Shape", [scale], x + "_shape")], x + "_zp8")
            q = self._op("QuantizeLinear", [x, scale, zp8], x + "_q8", axis=-1, block_size=width)
            self.quantized[x] = (q, scale, self._const(x + "_zp", np.array(128, dtype=np.uint8)), "")
            return self.quantized[x]
        zero = self._const(x + "_zero", np.array(0, dtype=np.float32))
        lo = self._op("Min", [self._op("ReduceMin", [x, axes], x + "_rmin", keepdims=1), zero], x + "_lo")
        hi = self._op("Max", [self._op("ReduceMax", [x, axes], x + "_rmax", keepdims=1), zero], x + "_hi")
        span = self._op("Mul", [self._op("Sub", [hi, lo], x + "_span"),
                                self._const(x + "_by255", np.array(1 / 255, dtype=np.float32))], x + "_span255")
        scale = self._op("Max", [span, eps], x + "_scale")
        zp = self._op("Round", [self._op("Div", [self._op("Neg", [lo], x + "_neglo"), scale], x + "_zpf")],
                      x + "_zp")
        zp8 = self._op("Cast", [zp], x + "_zp8", to=TensorProto.UINT8)
        q = self._op("QuantizeLinear", [x, scale, zp8], x + "_q8", axis=-1, block_size=width)
        self.quantized[x] = (q, scale, "", zp)
        return self.quantized[x]

    def _matmul(self, x: str, w: np.ndarray, out: str) -> None:
        if self.block:
            return self._matmul_nbits(x, w, out)
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127
        w8 = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
        q, scale, kernel_zp, token_zp = self._quantize(x, w.shape[0])
        ws = self._const(out + "_wscale", w_scale.astype(np.float32))
        one = self._const(out + "_one", np.array(1, dtype=np.float32))
        acc = self._op("MatMulIntegerToFloat", [q, self._const(out + "_w8", w8), one, ws, kernel_zp], out + "_acc",
                       domain="com.microsoft")  # sum((q - kernel_zp) * w8) * w_scale, per token and column
        if token_zp:
            colsum = (w8.astype(np.float32).sum(axis=0) * w_scale).astype(np.float32)
            shift = self._op("Mul", [token_zp, self._const(out + "_colsum", colsum)], out + "_shift")
            acc = self._op("Sub", [acc, shift], out + "_centred")
        self._op("Mul", [acc, scale], out)
        return None

    def _matmul_nbits(self, x: str, w: np.ndarray, out: str) -> None:
        from onnx import helper

        k, n = w.shape
        blocks = w.T.reshape(n, k // self.block, self.block)
        scale = np.maximum(np.abs(blocks).max(axis=-1), 1e-12) / 127
        w8 = (np.clip(np.round(blocks / scale[..., None]), -127, 127) + 128).astype(np.uint8)
        ws = self._const(out + "_wscale", scale.astype(np.float32).ravel())
        self.nodes.append(helper.make_node("MatMulNBits", [x, self._const(out + "_w8", w8), ws], [out],
                                           domain="com.microsoft", K=k, N=n, bits=8, block_size=self.block,
                                           accuracy_level=4))
