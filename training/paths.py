"""Where training reads and writes, defined once: training/work and its parts, and the shipped model.

Every step imports its folders from here (there used to be one definition of WORK per module). The
shipped model's name and folder come from guard.config, the runtime's own default.
"""

from __future__ import annotations

from pathlib import Path

from guard.config import DEFAULT_MODEL_NAME, default_model_dir

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "training" / "work"   # everything training writes (gitignored)
DATA = WORK / "data"                # generated splits (training.generate)
BASE = WORK / "base"                # the trimmed base model (training.base_model)
CKPT = WORK / "ckpt"                # the fine-tuned checkpoint (training.train)
ONNX = WORK / "onnx"                # fp32 and int8 graphs and parity.json (training.export)
MODEL_NAME = DEFAULT_MODEL_NAME     # the shipped model's folder name under models/
MODEL_DIR = default_model_dir()     # models/<MODEL_NAME>

__all__ = ["BASE", "CKPT", "DATA", "MODEL_DIR", "MODEL_NAME", "ONNX", "ROOT", "WORK"]
