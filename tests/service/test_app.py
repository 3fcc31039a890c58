"""`kguard serve`: options, a clear one-line error for a bad model, and a real process drained by SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from guard.cli import build_parser, config_from_args, main
from guard.client import AsyncGuardClient
from guard.config import GuardConfig


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def test_options_override_the_environment() -> None:
    cfg = config_from_args(_args("--port", "6000", "--unix-socket", "/tmp/x.sock", "--max-wait-ms", "5",
                                 "--max-queue", "10", "--model", "/m"), GuardConfig())
    assert cfg.server.port == 6000 and cfg.server.unix_socket == "/tmp/x.sock"
    assert cfg.batcher.max_wait_s == 0.005 and cfg.batcher.max_queue == 10
    assert cfg.engine.model_dir == Path("/m")
    assert config_from_args(_args(), GuardConfig()) == GuardConfig()


@pytest.mark.parametrize("make", ["missing", "corrupt"])
def test_bad_model_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          make: str) -> None:
    model = tmp_path / "model"
    if make == "corrupt":
        model.mkdir()
        (model / "model.onnx").write_bytes(b"not a model")
        (model / "labels.json").write_text("{")
    code = main(["serve", "--model", str(model), "--port", "0", "--metrics-port", "-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("kguard serve: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_busy_port_is_one_line_and_exit_2(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code = main(["serve", "--model", str(tiny_model_dir), "--port", str(port), "--metrics-port", "-1"])
    assert code == 2 and "cannot listen" in capsys.readouterr().err


async def test_kguard_serve_process_drains_on_sigterm(tiny_model_dir: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "guard.cli", "serve", "--model", str(tiny_model_dir), "--port", "0",
        "--metrics-port", "0", stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stderr is not None
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        match = re.search(r"serving (\S+?),? ", line + " ")
        assert match, line
        async with AsyncGuardClient(match.group(1)) as client:
            assert "P1" in (await client.check("제 주민번호는 900101-1234568 이에요")).categories
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
