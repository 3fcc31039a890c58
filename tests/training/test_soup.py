"""training.soup: the (weighted) mean of the ingredients' float weights, integer buffers kept, mismatches refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.extras import need

torch = need("torch", "train")

from training import soup  # noqa: E402


def _ckpt(folder: Path, weight: float, steps: int = 7, width: int = 3) -> Path:
    folder.mkdir()
    torch.save({"w": torch.full((2, width), weight), "ids": torch.tensor([steps])}, folder / "model.pt")
    (folder / "train_config.json").write_text(json.dumps({"layers": 6}))
    return folder


def test_a_soup_is_the_mean_of_its_ingredients(tmp_path: Path) -> None:
    a, b = _ckpt(tmp_path / "a", 1.0), _ckpt(tmp_path / "b", 3.0, steps=9)
    path = soup.soup([a, b], tmp_path / "out")
    state = torch.load(path)
    assert torch.equal(state["w"], torch.full((2, 3), 2.0))
    assert state["ids"].tolist() == [7]  # an integer buffer is not averaged: the first ingredient's
    assert json.loads((tmp_path / "out" / "train_config.json").read_text()) == {"layers": 6}
    assert json.loads((tmp_path / "out" / "soup.json").read_text())["ingredients"] == [str(a), str(b)]


def test_weights_interpolate_between_ingredients(tmp_path: Path) -> None:
    a, b = _ckpt(tmp_path / "a", 1.0), _ckpt(tmp_path / "b", 5.0)
    state = torch.load(soup.soup([a, b], tmp_path / "out", weights=[3, 1]))
    assert torch.allclose(state["w"], torch.full((2, 3), 2.0))  # 3/4 * 1 + 1/4 * 5
    assert json.loads((tmp_path / "out" / "soup.json").read_text())["weights"] == [3.0, 1.0]
    for bad in ([1.0], [1.0, -1.0], [0.0, 0.0]):
        with pytest.raises(ValueError, match="weights"):
            soup.soup([a, b], tmp_path / "bad", weights=bad)


def test_ingredients_of_another_shape_are_refused(tmp_path: Path) -> None:
    a, b = _ckpt(tmp_path / "a", 1.0), _ckpt(tmp_path / "b", 1.0, width=4)
    with pytest.raises(ValueError, match="architecture"):
        soup.soup([a, b], tmp_path / "out")
    with pytest.raises(ValueError, match="two"):
        soup.soup([a], tmp_path / "out")
