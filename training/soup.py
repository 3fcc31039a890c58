"""A weight-averaged checkpoint ("model soup", Wortsman et al., 2022) of runs fine-tuned from one base.

    python -m training.soup --ckpt training/work/ckpt_cand4 training/work/ckpt_c6 --out training/work/ckpt_soup
    python -m training.soup --ckpt training/work/ckpt_recovered training/work/ckpt_s13 training/work/ckpt_s14 \
        --weights 2 1 1 --out training/work/ckpt_wise   # half the model continued from, half the new runs

Every floating-point tensor is the (weighted) mean of the ingredients'; integer buffers come from the
first. Weighting the checkpoint a run continued from against the runs is WiSE-FT (Wortsman et al., 2022):
it keeps what the earlier model knew while taking what the new data taught (training/README.md, run 24). The
ingredients must share the architecture (same layers, heads and label sets): fine-tuned from the same
base, their weights stay close enough that the mean is a model, not noise. The first ingredient's
train_config.json is copied (the soup has its architecture); soup.json names the ingredients.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch


def soup(ckpts: list[Path], out: Path, weights: list[float] | None = None) -> Path:
    """Write the (weighted) mean of the checkpoints' weights to `out/model.pt`; returns that path."""
    if len(ckpts) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    w = [1.0] * len(ckpts) if weights is None else [float(x) for x in weights]
    if len(w) != len(ckpts) or min(w) < 0 or sum(w) <= 0:
        raise ValueError("weights: one non-negative number per checkpoint, not all zero")
    share = torch.tensor(w) / sum(w)
    states = [torch.load(c / "model.pt", map_location="cpu") for c in ckpts]
    keys = set(states[0])
    for c, s in zip(ckpts[1:], states[1:], strict=True):
        if set(s) != keys or any(s[k].shape != states[0][k].shape for k in keys):
            raise ValueError(f"{c} does not have the architecture of {ckpts[0]}")
    mean = {k: (torch.tensordot(share, torch.stack([s[k].float() for s in states]), dims=1).to(v.dtype)
                if v.is_floating_point() else v) for k, v in states[0].items()}
    out.mkdir(parents=True, exist_ok=True)
    torch.save(mean, out / "model.pt")
    shutil.copy(ckpts[0] / "train_config.json", out / "train_config.json")
    (out / "soup.json").write_text(json.dumps({"ingredients": [str(c) for c in ckpts], "weights": w}, indent=1) + "\n")
    return out / "model.pt"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, nargs="+", required=True, help="checkpoint folders (model.pt)")
    ap.add_argument("--weights", type=float, nargs="+", default=None, help="one per checkpoint (default: equal)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    print(soup(args.ckpt, args.out, args.weights))


if __name__ == "__main__":
    main()
