"""Per-token int8 (training/quantize.py quantize_pertoken) on a small encoder-shaped graph: close to fp32,
and a row's output does not depend on the other rows of its batch or on padding (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx (dev extra) builds the test graph")
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tests.extras import need  # noqa: E402
from training.quantize import ACTIVATIONS, _prepared, quantize_pertoken  # noqa: E402

HIDDEN, HEADS, FFN = 64, 4, 128


def encoder_layer(path: Path) -> Path:
    """x -> fused Attention (mask as lengths per row) -> LayerNorm -> MatMul + BiasGelu -> MatMul -> y."""
    rng = np.random.default_rng(0)

    def init(name: str, *shape: int, scale: float = 0.1) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [
        helper.make_node("Attention", ["x", "qkv_w", "qkv_b", "lengths"], ["att"], domain="com.microsoft",
                         num_heads=HEADS),
        helper.make_node("Add", ["att", "x"], ["res"]),
        helper.make_node("LayerNormalization", ["res", "ln_g", "ln_b"], ["ln"], axis=-1, epsilon=1e-5),
        helper.make_node("MatMul", ["ln", "w1"], ["h"]),
        helper.make_node("BiasGelu", ["h", "b1"], ["g"], domain="com.microsoft"),
        helper.make_node("MatMul", ["g", "w2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", HIDDEN]),
         helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", HIDDEN])],
        [init("qkv_w", HIDDEN, 3 * HIDDEN), init("qkv_b", 3 * HIDDEN), init("ln_g", HIDDEN, scale=1.0),
         init("ln_b", HIDDEN), init("w1", HIDDEN, FFN), init("b1", FFN), init("w2", FFN, HIDDEN)],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def run(path: Path, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["y"], {"x": x, "lengths": lengths})[0])


@pytest.fixture(scope="module")
def fp32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encoder_layer(tmp_path_factory.mktemp("quant") / "fp32.onnx")


@pytest.mark.parametrize("activations", ACTIVATIONS)
@pytest.mark.parametrize("attention", [True, False])
def test_close_to_fp32_and_independent_of_the_batch(fp32: Path, tmp_path: Path, activations: str,
                                                    attention: bool) -> None:
    q = quantize_pertoken(fp32, tmp_path / "q.onnx", activations=activations, attention=attention)
    ops = {n.op_type for n in onnx.load(str(q)).graph.node}
    assert "DynamicQuantizeLinear" not in ops and "MatMulIntegerToFloat" in ops
    assert ("Attention" in ops) is not attention
    rng = np.random.default_rng(1)
    text = rng.standard_normal((1, 7, HIDDEN)).astype(np.float32)
    alone = run(q, text, np.array([7], dtype=np.int32))
    reference = run(fp32, text, np.array([7], dtype=np.int32))
    assert np.abs(alone - reference).max() <= 0.05 * np.abs(reference).max()
    # in a batch, padded to 12 tokens, beside rows 50x larger and a row of padding garbage
    batch = rng.standard_normal((3, 12, HIDDEN)).astype(np.float32) * 50
    batch[1, :7] = text[0]
    together = run(q, batch, np.array([12, 7, 3], dtype=np.int32))[1:2, :7]
    assert np.abs(together - alone).max() <= 1e-5 * np.abs(alone).max()


def test_the_static_quantizer_sees_every_matmul_input(fp32: Path, tmp_path: Path) -> None:
    """onnxruntime's QDQ quantizer skips a MatMul whose input has no recorded type; plain shape inference
    stops at the fused Attention op, so before _prepared every MatMul after it stayed fp32."""
    need("sympy", "train")  # onnxruntime's symbolic shape inference
    prepared = _prepared(fp32, tmp_path / "prepared.onnx")
    graph = onnx.load(str(prepared)).graph
    typed = {vi.name: vi.type.tensor_type.elem_type for vi in graph.value_info} | {
        i.name: i.type.tensor_type.elem_type for i in graph.input}
    ops = [n.op_type for n in graph.node]
    assert "Attention" not in ops and "MultiHeadAttention" in ops
    matmuls = [n for n in graph.node if n.op_type == "MatMul"]
    assert len(matmuls) == 3  # the attention's input projection is one now
    assert all(typed.get(n.input[0]) == TensorProto.FLOAT for n in matmuls)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, HIDDEN)).astype(np.float32)
    lengths = np.array([9, 5], dtype=np.int32)
    np.testing.assert_allclose(run(prepared, x, lengths), run(fp32, x, lengths), rtol=1e-4, atol=1e-5)
