"""Thin layers over guard.scan's RecordScanner for the data tools teams already use.

- `hf_datasets.GuardMapFunction`: a batched `datasets.Dataset.map` function.
- `ray_data.GuardBatchScanner`: a Ray Data `map_batches` class, one engine per actor.

Each module imports its library only when used (the `integrations` extra).
"""

__all__: list[str] = []  # the integrations live in their submodules (hf_datasets, ray_data)
