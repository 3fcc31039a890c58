"""A batched Hugging Face `datasets` map function over the guard: same flags and masks as `kguard scan`.

    from datasets import load_dataset
    from guard.integrations.hf_datasets import GuardMapFunction

    ds = load_dataset("json", data_files="chats.jsonl", split="train")
    fn = GuardMapFunction(["messages"], model_dir="models/kguard-ko-small")
    clean = ds.map(fn, batched=True, batch_size=256, num_proc=4)
    clean = clean.filter(lambda flagged: not flagged, input_columns="kguard_flagged")  # to drop

The function adds `kguard_categories`, `kguard_flagged` and `kguard_errors` columns and masks the
fields in place. It holds only an EngineSpec (paths and numbers), so `datasets` can hash and pickle it;
each process builds its one Guard on first use (with `num_proc=N`, give each 1 onnxruntime thread).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from guard.scan.core import EngineSpec, RecordScanner, ScanSettings, scan_columns

# One scanner per (process, spec): a Guard is never pickled, and a forked child builds its own.
_SCANNERS: dict[tuple[int, EngineSpec, ScanSettings], RecordScanner] = {}


class GuardMapFunction:
    """`Dataset.map(fn, batched=True)`: masks `fields` and adds flag columns.

    Args:
        fields: columns to judge (strings, lists of strings, or chats of {role, content}).
        role: role of plain string columns, "user" or "assistant".
        model_dir: model folder; None: the shipped model.
        detectors_only: validated detectors alone, no model.
        policy_file: a TOML policy; None: the default.
        masking: placeholder (default), partial or hash.
        hmac_key: the key for hash masking (the library reads no environment variable for it).
        intra_op_num_threads: onnxruntime threads per process.
    """

    def __init__(self, fields: Sequence[str], *, role: str = "user", model_dir: str | None = None,
                 detectors_only: bool = False, policy_file: str | None = None,
                 masking: str = "placeholder", intra_op_num_threads: int = 1,
                 hmac_key: bytes | None = None) -> None:
        self.spec = EngineSpec.for_model(model_dir, policy_file=policy_file, hmac_key=hmac_key,
                                    detectors_only=detectors_only,
                                         intra_op_num_threads=intra_op_num_threads, masking=masking)
        self.settings = ScanSettings(fields=tuple(fields), role=role)

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return scan_columns(self._scanner(), dict(batch))

    def _scanner(self) -> RecordScanner:
        key = (os.getpid(), self.spec, self.settings)
        scanner = _SCANNERS.get(key)
        if scanner is None:
            scanner = _SCANNERS[key] = RecordScanner(self.spec.build(), self.settings)
        return scanner
