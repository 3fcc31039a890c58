"""A Ray Data `map_batches` class over the guard: each actor holds one engine; same flags as `kguard scan`.

    import ray
    from guard.integrations.ray_data import GuardBatchScanner

    ds = ray.data.read_json("s3://bucket/chats/")
    clean = ds.map_batches(
        GuardBatchScanner,
        fn_constructor_kwargs={"fields": ["messages"], "model_dir": "/models/kguard-ko-small"},
        batch_size=256, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=8), num_cpus=1)
    clean.filter(lambda row: not row["kguard_flagged"]).write_parquet("s3://bucket/clean/")

Give each actor `num_cpus` equal to its `intra_op_num_threads`, so Ray places as many actors on a node
as it has cores for, and threads are not oversubscribed; leave Ray a CPU for its read and write tasks
(with every CPU held by an actor they cannot be scheduled and the dataset never finishes).
Batches come as pandas DataFrames or as dicts of numpy arrays (Ray's default); the answer has the
same form, with the fields masked and `kguard_categories`, `kguard_flagged`, `kguard_errors` added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guard.scan.core import EngineSpec, RecordScanner, ScanSettings, scan_columns


class GuardBatchScanner:
    """Callable class for `Dataset.map_batches`; Ray builds one per actor, so one engine per actor.

    Args:
        fields: columns to judge (strings, lists of strings, or chats of {role, content}).
        role: role of plain string columns, "user" or "assistant".
        model_dir: model folder on every node; None: the shipped model.
        detectors_only: validated detectors alone, no model.
        policy_file: a TOML policy; None: the default.
        masking: placeholder (default), partial or hash.
        hmac_key: the key for hash masking (the library reads no environment variable for it).
        intra_op_num_threads: onnxruntime threads in this actor (match the actor's num_cpus).
    """

    def __init__(self, fields: Sequence[str], *, role: str = "user", model_dir: str | None = None,
                 detectors_only: bool = False, policy_file: str | None = None,
                 masking: str = "placeholder", intra_op_num_threads: int = 1,
                 hmac_key: bytes | None = None) -> None:
        spec = EngineSpec.for_model(model_dir, policy_file=policy_file, hmac_key=hmac_key,
                                    detectors_only=detectors_only,
                                    intra_op_num_threads=intra_op_num_threads, masking=masking)
        self._scanner = RecordScanner(spec.build(), ScanSettings(fields=tuple(fields), role=role))

    def __call__(self, batch: Any) -> Any:
        if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # a pandas DataFrame
            import pandas as pd

            columns = {name: [_plain(v) for v in batch[name].tolist()] for name in batch.columns}
            return pd.DataFrame(scan_columns(self._scanner, columns))
        import numpy as np

        columns = {name: [_plain(v) for v in values] for name, values in batch.items()}
        out = scan_columns(self._scanner, columns)
        return {name: _array(np, values) for name, values in out.items()}


def _plain(value: Any) -> Any:
    """Arrow and numpy containers as Python lists and dicts, so chats and lists read as in a file."""
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _array(np: Any, values: list[Any]) -> Any:
    """A 1-d numpy array, object dtype when the values are lists (numpy would make it 2-d)."""
    if any(isinstance(v, list | dict) for v in values):
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr
    return np.asarray(values)
