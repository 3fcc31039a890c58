"""Where verification reports go: a folder the user names, never over the input, JSON written whole."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from guard.errors import GuardError
from guard.sdk import Guard

__all__ = ["model_summary", "prepare_out_dir", "write_json", "write_text"]


def prepare_out_dir(out: Path, files: Iterable[str], inputs: Iterable[Path | None]) -> None:
    """Create `out` if needed; GuardError when a report file would replace an input file."""
    targets = [(out / name) for name in files]
    for src in inputs:
        if src is None:
            continue
        for target in targets:
            if target.exists() and src.exists() and os.path.samefile(target, src):
                raise GuardError(f"{target} is an input file: choose another --out folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GuardError(f"cannot create {out}: {exc.strerror}") from None


def write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise GuardError(f"cannot write {path}: {exc.strerror}") from None


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def model_summary(guard: Guard) -> dict[str, str]:
    info = guard.info
    return {"name": info.name, "version": info.version, "sha256": info.sha256}
