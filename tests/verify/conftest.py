"""Fixtures for guard.verify: the real Guard with the shipped model, and labelled files written here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from guard.sdk import Guard

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "guard" / "verify" / "data" / "seeds.jsonl"


@pytest.fixture(scope="session")
def guard() -> Guard:
    """The shipped model with the default policy, as `kguard` builds it."""
    return Guard()


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
