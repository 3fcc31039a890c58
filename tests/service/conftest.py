"""Fixtures for the service tests: real GuardServers on 127.0.0.1:0 (or a unix socket), torn down after."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from guard.batcher import BatchObserver
from guard.config import BatcherConfig, GuardConfig, LimitsConfig, ServerConfig
from guard.engine.base import EngineInput
from guard.engine.fake import FakeEngine
from guard.sdk import AsyncGuard
from guard.server.app import GuardServer

#: A valid RRN (checksum digit 8) in a sentence, used across the service tests.
RRN = "900101-1234568"
RRN_TEXT = f"제 주민번호는 {RRN} 이에요"

StartServer = Callable[..., Awaitable[GuardServer]]


def make_config(*, server: dict[str, Any] | None = None, batcher: dict[str, Any] | None = None,
                limits: dict[str, Any] | None = None, model_dir: Path | None = None) -> GuardConfig:
    base = GuardConfig()
    cfg = replace(
        base,
        server=replace(ServerConfig(port=0, metrics_port=-1, grace_s=5.0), **(server or {})),
        batcher=replace(BatcherConfig(), **(batcher or {})),
        limits=replace(LimitsConfig(), **(limits or {})),
    )
    if model_dir is not None:
        cfg = replace(cfg, engine=replace(cfg.engine, model_dir=model_dir))
    return cfg


@pytest.fixture
async def start_server(tiny_model_dir: Path) -> AsyncIterator[StartServer]:
    """`await start_server(engine=None, server={...}, batcher={...}, limits={...})`: a started server.

    Without `engine` the server loads the tiny ONNX model through the real OnnxEngine."""
    servers: list[GuardServer] = []

    async def start(*, engine: FakeEngine | None = None, server: dict[str, Any] | None = None,
                    batcher: dict[str, Any] | None = None, limits: dict[str, Any] | None = None,
                    ) -> GuardServer:
        cfg = make_config(server=server, batcher=batcher, limits=limits, model_dir=tiny_model_dir)

        def factory(observer: BatchObserver) -> AsyncGuard:
            return AsyncGuard(engine=engine, config=cfg, observer=observer)

        srv = GuardServer(cfg, guard_factory=factory)
        servers.append(srv)
        await srv.start()
        return srv

    yield start
    for srv in servers:
        await srv.stop(grace=0)


class Gate:
    """Blocks FakeEngine batches until opened: a slow model without sleeps (FakeEngine's fail_on hook)."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self.entered = threading.Event()

    def __call__(self, batch: Sequence[EngineInput]) -> bool:
        self.entered.set()
        if not self._open.wait(timeout=30):
            raise TimeoutError("gate never opened")
        return False  # never fail: only delay

    def open(self) -> None:
        self._open.set()
