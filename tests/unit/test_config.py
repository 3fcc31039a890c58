"""Configuration: defaults that work, KGUARD_* variables, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.config import DEFAULT_MODEL_NAME, GuardConfig, from_env
from guard.errors import ConfigError


def test_defaults() -> None:
    cfg = GuardConfig()
    assert cfg.server.host == "127.0.0.1" and cfg.server.port == 50051 and cfg.server.metrics_port == 9464
    assert cfg.engine.model_dir.name == DEFAULT_MODEL_NAME


def test_from_env_reads_each_section() -> None:
    cfg = from_env({
        "KGUARD_SERVER_PORT": "6000", "KGUARD_SERVER_UNIX_SOCKET": "/tmp/g.sock",
        "KGUARD_BATCHER_MAX_WAIT_S": "0.005", "KGUARD_ENGINE_MODEL_DIR": "/m",
        "KGUARD_ENGINE_PROVIDERS": "CPUExecutionProvider", "KGUARD_SERVER_WARMUP": "false",
        "KGUARD_POLICY_FILE": "p.toml",
    })
    assert cfg.server.port == 6000 and cfg.server.unix_socket == "/tmp/g.sock" and not cfg.server.warmup
    assert cfg.batcher.max_wait_s == 0.005 and cfg.engine.model_dir == Path("/m")
    assert cfg.engine.providers == ("CPUExecutionProvider",) and cfg.policy_file == Path("p.toml")


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="KGUARD_SERVER_PORT"):
        from_env({"KGUARD_SERVER_PORT": "http"})
