"""LICENSE is the licence pyproject and the model card name; NOTICE credits the base model and every
corpus the training pipeline reads, with its repository and licence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guard.policy import tomllib
from training.realtext.corpora import CORPORA, corpus_files

ROOT = Path(__file__).resolve().parents[2]


def _notice() -> str:
    return (ROOT / "NOTICE").read_text(encoding="utf-8")


def test_license_is_the_apache_2_text_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split("\n", 2)[:2] == ["                                 Apache License",
                                       "                           Version 2.0, January 2004"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert "Apache-2.0" in (ROOT / "models" / "kguard-ko-small" / "README.md").read_text(encoding="utf-8")


def test_notice_credits_the_base_model() -> None:
    labels = json.loads((ROOT / "models" / "kguard-ko-small" / "labels.json").read_text(encoding="utf-8"))
    notice = _notice()
    assert labels["base_model"] in notice
    section = notice.split("Base model", 1)[1].split("Real Korean text", 1)[0]
    assert "MIT License" in section and "Permission is hereby granted" in section


def _spelled(licence: str) -> str:
    """The corpora's SPDX-style id as NOTICE spells it: "CC-BY-SA-3.0-IGO" -> "CC BY-SA 3.0 IGO"."""
    licence = licence.split(" (", 1)[0]
    for prefix in ("CC-BY-SA", "CC-BY", "CC0"):
        if licence.startswith(prefix):
            head = prefix.replace("CC-BY", "CC BY")
            return " ".join([head, *filter(None, licence[len(prefix):].split("-"))])
    return licence


@pytest.mark.skipif(not corpus_files(), reason=f"the training corpora are not here ({CORPORA})")
def test_notice_names_every_training_corpus_with_its_licence() -> None:
    lines = _notice().splitlines()
    missing = []
    for path in corpus_files():
        with path.open(encoding="utf-8") as f:
            row = json.loads(f.readline())
        repo = re.fullmatch(r"github:([^@]+)@.*", row["source"])
        assert repo, path.name
        licence = _spelled(row["license"])
        if not any(repo.group(1) in line and licence in line for line in lines):
            missing.append(f"{path.name}: {repo.group(1)} {licence}")
    assert not missing, missing
    flat = " ".join(_notice().split())
    assert "Share-alike" in flat and "this repository does not redistribute them" in flat
