"""Scrub a JSONL dataset with Ray Data on a local Ray instance: the same scan that runs on a cluster.

    HF_HUB_OFFLINE=1 .venv/bin/python examples/ray_scan.py chats.jsonl clean/ --field text
    HF_HUB_OFFLINE=1 .venv/bin/python examples/ray_scan.py chats.jsonl clean/ --field messages --no-model

On a cluster, call `ray.init(address="auto")` instead of a local instance and read from shared storage;
the model folder must exist at the same path on every node. Each actor holds one engine with one
onnxruntime thread and asks Ray for one CPU, so Ray runs one actor per core. Flagged records are
dropped here (--keep-flagged writes them masked, with their categories); the counts printed are
records and categories only, never text. Ray reads JSONL with Arrow, which needs each field to keep
one type across lines (a list mixing numbers and strings fails the read); `kguard scan` has no such
limit.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

import ray

from guard.integrations.ray_data import GuardBatchScanner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="a JSONL file (or a directory of them)")
    parser.add_argument("output", type=Path, help="a directory for the scrubbed JSONL parts")
    parser.add_argument("--field", action="append", required=True, help="a field to scan (repeat)")
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--no-model", action="store_true", help="validated detectors only")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1,
                        help="scanning actors (one per core)")
    parser.add_argument("--keep-flagged", action="store_true", help="write flagged records masked")
    args = parser.parse_args()

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # one logical CPU more than the actors hold, for Ray's read and write tasks (else they starve)
    ray.init(num_cpus=args.cpus + 1, include_dashboard=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1"}})
    try:
        scanned = ray.data.read_json(str(args.input)).map_batches(
            GuardBatchScanner, batch_size=256, batch_format="pandas", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=args.cpus),
            fn_constructor_kwargs={"fields": args.field, "model_dir": args.model,
                                   "detectors_only": args.no_model, "intra_op_num_threads": 1},
        ).materialize()
        counts: Counter[str] = Counter()
        for batch in scanned.select_columns(["kguard_categories"]).iter_batches(batch_format="pandas"):
            for cats in batch["kguard_categories"]:
                counts.update(list(cats))
        flagged = scanned.filter(lambda row: bool(row["kguard_flagged"])).count()
        out = scanned if args.keep_flagged else scanned.filter(lambda row: not row["kguard_flagged"])
        out.write_json(str(args.output))
        by_category = dict(sorted(counts.items()))
        print(f"{scanned.count():,} records, {flagged:,} flagged; by category: {by_category}")
        print(f"written to {args.output} ({'masked' if args.keep_flagged else 'flagged records dropped'})")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
