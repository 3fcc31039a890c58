"""bench.quantization own_width: each row padded to its own width (never its batchmates'), order kept."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="onnx (dev extra): bench.quantization builds graphs with it")

from bench.quantization import own_width  # noqa: E402


def test_each_row_runs_at_its_own_width_and_comes_back_in_order() -> None:
    lengths = [3, 20, 5, 17]
    ids = np.zeros((4, 20), dtype=np.int64)  # padded to the longest, as a batch arrives
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = row + 1
        mask[row, :n] = 1
    runs: list[tuple[int, ...]] = []

    def run(feed: dict[str, np.ndarray]) -> np.ndarray:
        runs.append(feed["input_ids"].shape)
        assert (feed["input_ids"][feed["attention_mask"] == 0] == 9).all()  # padding is the pad id
        width = np.full(len(feed["input_ids"]), feed["input_ids"].shape[1])
        return np.stack([feed["input_ids"][:, 0], width], axis=1).astype(np.float32)

    padded = np.where(mask == 1, ids, 9)
    out = own_width(run, pad_id=9, quantum=16)({"input_ids": padded, "attention_mask": mask})
    assert out[:, 0].tolist() == [1, 2, 3, 4]  # each row's own result, in the batch's order
    assert out[:, 1].tolist() == [16, 32, 16, 32]  # 3 and 5 tokens run at 16, 17 and 20 at 32
    assert sorted(runs) == [(2, 16), (2, 32)]
