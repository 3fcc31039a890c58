"""A bad model folder at start-up: a clear one-line error naming the file, exit code 2, health never
SERVING, no stack trace for the user.

Each fault is made from the tiny model: the folder missing, model.onnx missing or truncated, a graph
whose outputs have the wrong shape, wrong input names, a truncated tokenizer, labels.json that disagrees
with the graph.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import onnx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onnx import TensorProto, helper, numpy_helper

from guard.batcher import BatchObserver
from guard.cli import main
from guard.client import AsyncGuardClient
from guard.config import EngineConfig, default_model_dir
from guard.engine.onnx import OnnxEngine
from guard.errors import ModelError
from guard.sdk import AsyncGuard, Guard
from guard.server.app import GuardServer, probe
from tests.service.conftest import StartServer, make_config
from tests.unit.engine.test_onnx import _symbolic_label_dims


def _wrong_shape_graph() -> onnx.ModelProto:
    """Right names, wrong sizes: category_logits [batch, 1] and tag_logits [batch, seq, 1] at run time."""
    dims = ["batch", "seq"]
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["x", "m"], ["xm"]),
        helper.make_node("ReduceMax", ["xm"], ["category_logits"], axes=[1], keepdims=1),
        helper.make_node("Unsqueeze", ["xm", "axis2"], ["tag_logits"]),
    ]
    graph = helper.make_graph(
        nodes, "wrong_shape",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)],
        [helper.make_tensor_value_info("category_logits", TensorProto.FLOAT, ["batch", "n"]),
         helper.make_tensor_value_info("tag_logits", TensorProto.FLOAT, ["batch", "seq", "t"])],
        [numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _missing_folder(d: Path) -> None:
    shutil.rmtree(d)


def _missing_model(d: Path) -> None:
    (d / "model.onnx").unlink()


def _truncated_model(d: Path) -> None:
    data = (d / "model.onnx").read_bytes()
    (d / "model.onnx").write_bytes(data[: len(data) // 2])


def _empty_model(d: Path) -> None:
    (d / "model.onnx").write_bytes(b"")


def _wrong_shape(d: Path) -> None:
    onnx.save(_wrong_shape_graph(), str(d / "model.onnx"))


def _wrong_input_names(d: Path) -> None:
    model = onnx.load(str(d / "model.onnx"))
    for node in model.graph.node:
        node.input[:] = ["ids" if name == "input_ids" else name for name in node.input]
    model.graph.input[0].name = "ids"
    onnx.save(model, str(d / "model.onnx"))


def _truncated_tokenizer(d: Path) -> None:
    data = (d / "tokenizer.json").read_bytes()
    (d / "tokenizer.json").write_bytes(data[: len(data) // 3])


def _labels_disagree(d: Path) -> None:
    labels = json.loads((d / "labels.json").read_text())
    labels["tags"] = labels["tags"][:5]  # the graph has more tag logits than labels.json names
    (d / "labels.json").write_text(json.dumps(labels))


def _labels_disagree_at_run_time(d: Path) -> None:
    """The graph's tag dimension is symbolic: only a run shows it disagrees (the load-time probe)."""
    _symbolic_label_dims(d / "model.onnx")
    _labels_disagree(d)


FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing-folder": (_missing_folder, "model folder not found"),
    "missing-model": (_missing_model, "model.onnx"),
    "truncated-model": (_truncated_model, "model.onnx"),
    "empty-model": (_empty_model, "model.onnx"),
    "wrong-output-shape": (_wrong_shape, "model.onnx"),
    "wrong-input-names": (_wrong_input_names, "model.onnx"),
    "truncated-tokenizer": (_truncated_tokenizer, "tokenizer.json"),
    "labels-disagree": (_labels_disagree, "model.onnx"),
    "labels-disagree-at-run-time": (_labels_disagree_at_run_time, "model.onnx"),
}


@pytest.fixture
def broken(tmp_path: Path, tiny_model_dir: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    make, names = FAULTS[request.param]
    make(folder)
    return folder, names


@pytest.mark.parametrize("broken", list(FAULTS), indirect=True)
def test_bad_model_is_a_model_error_naming_the_file(broken: tuple[Path, str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder, names = broken
    with pytest.raises(ModelError) as info:
        OnnxEngine(EngineConfig(model_dir=folder))
    assert names in str(info.value)
    code = main(["serve", "--model", str(folder), "--port", "0", "--metrics-port", "-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("kguard serve: error: ") and err.count("\n") == 1 and names in err
    assert "Traceback" not in err


async def test_health_is_never_serving_when_the_model_fails_to_load(tmp_path: Path,
                                                                    tiny_model_dir: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    _truncated_model(folder)
    cfg = make_config(model_dir=folder)
    loading = threading.Event()

    def factory(observer: BatchObserver) -> AsyncGuard:
        loading.wait(timeout=30)
        return AsyncGuard(config=cfg, observer=observer)  # raises ModelError

    server = GuardServer(cfg, guard_factory=factory)
    starting = asyncio.create_task(server.start())
    await server.bound.wait()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="guard.v1.Guard"), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        loading.set()
    with pytest.raises(ModelError):
        await starting
    assert not server.ready.is_set()
    assert await asyncio.to_thread(probe, server.target, timeout_s=0.5) == 1  # gone, never SERVING


def test_kguard_serve_process_with_a_truncated_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The real command line: exit code 2, one line on stderr, no traceback, nothing on stdout."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    _truncated_model(folder)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KGUARD_SERVER_METRICS_PORT": "-1"}
    proc = subprocess.run([sys.executable, "-m", "guard.cli", "serve", "--model", str(folder), "--port", "0"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kguard serve: error: model.onnx"), proc.stderr


def _damaged_tokenizer(d: Path) -> None:
    """Still valid JSON, still loads: the vocabulary's pieces shuffled among their ids (a bad merge, a
    swapped file). Every word then maps to the wrong token."""
    tok = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = tok["model"]["vocab"]
    if isinstance(vocab, dict):  # WordLevel (the tiny model): word -> id
        words = [w for w in vocab if not w.startswith("<")]
        ids = [vocab[w] for w in words]
        random.Random(0).shuffle(ids)
        vocab.update(zip(words, ids, strict=True))
    else:  # Unigram (the shipped model): [[piece, score], ...], the first 4 are special
        pieces = [p for p, _ in vocab[4:]]
        random.Random(0).shuffle(pieces)
        tok["model"]["vocab"] = vocab[:4] + [[p, s] for p, (_, s) in zip(pieces, vocab[4:], strict=True)]
    (d / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(params=["tiny", "shipped"])
def damaged(request: pytest.FixtureRequest, tmp_path: Path, tiny_model_dir: Path) -> Path:
    source = tiny_model_dir if request.param == "tiny" else default_model_dir()
    if not (source / "model.onnx").is_file():
        pytest.skip("the shipped model is not there")
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    _damaged_tokenizer(folder)
    OnnxEngine(EngineConfig(model_dir=folder))  # the damage passes every load-time check
    return folder


def test_a_damaged_tokenizer_fails_the_self_test_and_never_serves(damaged: Path) -> None:
    with pytest.raises(ModelError) as info:
        Guard(damaged)
    assert "canaries.json" in str(info.value) and "self-test failed" in str(info.value)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KGUARD_SERVER_METRICS_PORT": "-1"}
    proc = subprocess.Popen([sys.executable, "-m", "guard.cli", "serve", "--model", str(damaged), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # "serving ..." if it started: then it must not have
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 2 and first.startswith("kguard serve: error: canaries.json"), first


async def test_the_server_never_reports_serving_when_the_canaries_fail(tmp_path: Path,
                                                                       tiny_model_dir: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    _damaged_tokenizer(folder)
    server = GuardServer(make_config(model_dir=folder))
    try:
        with pytest.raises(ModelError):
            await server.start()
        assert not server.ready.is_set()
    finally:
        if server.ready.is_set():
            await server.stop(grace=0)


async def test_model_info_carries_the_sha256_of_every_file_of_the_folder(start_server: StartServer,
                                                                        tiny_model_dir: Path) -> None:
    server = await start_server()
    async with AsyncGuardClient(server.target) as client:
        info = await client.model_info()
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tiny_model_dir.iterdir()}
    assert info.files == expected
    assert {"model.onnx", "tokenizer.json", "labels.json", "canaries.json"} <= set(info.files)
    assert info.sha256 == expected["model.onnx"]


def test_a_canary_file_that_is_not_valid_is_a_model_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "canaries.json").write_text('{"canaries": [{"text": "hello", "flags": ["P99"]}]}')
    with pytest.raises(ModelError) as info:
        Guard(folder)
    assert "canaries.json" in str(info.value)
