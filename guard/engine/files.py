"""The model folder's fingerprint: the sha256 of every file in it, for GetModelInfo and `kguard model-info`.

Hashing every file (not only model.onnx) lets an operator see that the tokenizer, labels and canaries
are the ones that were shipped: a damaged tokenizer.json that is still valid JSON loads without error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_HASH_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks (models are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> dict[str, str]:
    """Every regular file under `folder` (sub-folders included, symlinks followed) -> its sha256, keyed
    by its path relative to the folder with "/" separators, sorted."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}
