"""The scan's checkpoint: what is done, written atomically after each committed output chunk.

It holds counts, offsets, record numbers and codes, never a text: where reading resumes, the writer's
committed state, and the report's counters so far (so a resumed scan reports the whole file). It also
holds a fingerprint of the input and of the options; a resume with another input or other options is
refused rather than mixing two scans in one output.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from guard.errors import InputError
from guard.scan.readers import ResumeAt

VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """Progress of one scan.

    Attributes:
        fingerprint: sha256 over the input's identity (path, size, mtime) and the scan options.
        items: records consumed from the reader, in order.
        byte_offset: input offset after the last record done (line formats), else None.
        next_number: the number the next record read will have.
        output_state: the writer's committed state (byte offset or part count).
        stats: the report counters so far (ScanStats.to_dict()).
        complete: True once the whole input is done.
    """

    fingerprint: str
    items: int = 0
    byte_offset: int | None = None
    next_number: int = 1
    output_state: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    version: int = VERSION

    def resume_at(self) -> ResumeAt:
        return ResumeAt(items=self.items, byte_offset=self.byte_offset, next_number=self.next_number)


def fingerprint(input_path: Path, options: dict[str, Any]) -> str:
    """Identity of the input file and of the options that change the output."""
    st = input_path.stat()
    ident = {"path": str(input_path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "options": options}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def checkpoint_path(output: Path) -> Path:
    """The checkpoint beside the output: `<output>.kguard-checkpoint.json`."""
    return output.with_name(output.name + ".kguard-checkpoint.json")


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically: a temporary file, fsync, rename over the old one, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(asdict(checkpoint), f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path: Path, expected_fingerprint: str) -> Checkpoint:
    """Read a checkpoint to resume from; InputError if missing, unreadable or for another scan."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"cannot resume: no checkpoint {path.name}") from None
    except (OSError, ValueError):
        raise InputError(f"cannot resume: the checkpoint {path.name} is unreadable") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise InputError(f"cannot resume: the checkpoint {path.name} has another version")
    try:
        checkpoint = Checkpoint(**data)
    except TypeError:
        raise InputError(f"cannot resume: the checkpoint {path.name} is malformed") from None
    if checkpoint.fingerprint != expected_fingerprint:
        raise InputError("cannot resume: the input file or the scan options changed since the checkpoint")
    return checkpoint
