"""The whole pipeline in one command: data, base model, training, export, evaluation.

    python -m training.pipeline [--source intfloat/multilingual-e5-small] [--steps 4000] [--layers 6]
    python -m training.pipeline --teacher-layers 12   # then a 12-layer teacher, 2000 steps of distillation

Each step caches its output under training/work/ (the base model and the data are reused when present;
training and export always run). The model folder lands in models/kguard-ko-small/.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from training import base_model, evaluate, export, generate, train  # noqa: E402
from training.realtext import report as realtext_report  # noqa: E402
from training.realtext import windows  # noqa: E402
from training.realtext.corpora import CORPORA  # noqa: E402

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=None, help="hub id or folder instead of the pinned wheels")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--max-minutes", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--teacher-layers", type=int, default=0,
                        help="> 0: then train a teacher this deep and continue the model with it")
    parser.add_argument("--teacher-steps", type=int, default=2000)
    parser.add_argument("--distill-steps", type=int, default=2000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    data = generate.WORK
    if not (data / "test.jsonl").exists():
        generate.fetch_corpora()
        generate.generate(data, {"train": 30000, "dev": 3000, "test": 4000}, seed=args.seed, real=True,
                          written=True)
    base = base_model.build(args.source, sorted(Path(data).glob("*.jsonl")))
    cfg = train.TrainConfig(base=str(base), data=str(data), layers=args.layers, steps=args.steps,
                            seed=args.seed, log_every=25, max_minutes=args.max_minutes)
    ckpt = train.train(cfg).parent
    if args.teacher_layers:  # training/README.md, run 9: the trained model goes on learning from a deeper one
        teacher = train.train(replace(cfg, layers=args.teacher_layers, steps=args.teacher_steps,
                                      out=str(train.WORK / "ckpt_teacher"))).parent
        ckpt = train.train(replace(cfg, steps=args.distill_steps, teacher=str(teacher), init=str(ckpt),
                                   out=str(train.WORK / "ckpt_distilled"))).parent
    model_dir = export.ROOT / "models" / export.NAME
    export.export(ckpt, model_dir, train.WORK / "onnx", max_safe_fp=export.MAX_SAFE_FP)
    if CORPORA.is_dir():  # the hand-labelled real-text dev set chooses the thresholds the guard ships with
        realtext_report.main(["--model", str(model_dir), "--split", "tune", "--retune", "--no-long"])
        windows.main(["--model", str(model_dir), "--write"])  # and the long-text settings
    evaluate.main(["--model", str(model_dir), "--data", str(data)])


if __name__ == "__main__":
    main()
