"""Shared fixtures. Kept minimal: every test tree relies on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tinymodel import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model folder (model.onnx, tokenizer.json, labels.json); see tests/support/tinymodel.py."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "kguard-tiny")
