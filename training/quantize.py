"""int8 quantization of the exported fp32 graph (no torch): the one place that says how.

- dynamic: weights int8 per channel, activation scales computed at run time over the whole batch tensor.
  A text's scores then depend on what else (and how much padding) is in its batch, so it is kept only
  as the baseline the bench compares against.
- static (QDQ or QOperator): activation scales calibrated once on real Korean sentences and frozen in the
  graph, so a text's scores cannot depend on its batch (DESIGN.md, batch invariance). The fused
  embedding op is then quantized weight-only: a table lookup has no activation to scale, so this adds no
  batch dependence, and it keeps the graph under the 50 MB budget (the fp32 table alone is 98 MB).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

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


def quantize_static(src: Path, dst: Path, encoder: TextEncoder, texts: Iterable[str], *, qdq: bool = True,
                    method: str = "percentile", ops: tuple[str, ...] = ("MatMul", "Gather")) -> Path:
    """Static int8 with activation ranges calibrated on `texts` (percentile 99.999 by default).

    The fused Attention op's projections stay fp32 by default: onnxruntime has no QDQ kernel for it. On
    a loaded machine that measured 2x faster than quantizing them; on an idle one the two were within
    noise (bench/RESULTS.md, quantization: 258 against 267 texts/s) at the same parity."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_static

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
    return dst
