"""Draw the corpus rows of the real-text dev set for labelling (seeded).

Three strata, as the quality issue asks: rows at random (spread over registers), rows about sensitive
topics (the corpora's topic hints), and rows the shipped guard flags. Writes batches of rows for the
labellers (text included, under training/work: gitignored); the labels go to training/realtext/labels.

    python -m training.realtext.sample --out training/work/realtext/to_label
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from training.realtext.corpora import CorpusRow, all_rows

SEED = 20261206


def stratified(rows: list[CorpusRow], n: int, rng: random.Random) -> list[CorpusRow]:
    by_register: dict[str, list[CorpusRow]] = defaultdict(list)
    for row in rows:
        by_register[row.register].append(row)
    per = max(1, n // len(by_register))
    picked: list[CorpusRow] = []
    for register in sorted(by_register):
        pool = by_register[register]
        picked += rng.sample(pool, min(per, len(pool)))
    return picked[:n]


def by_topic(rows: list[CorpusRow], n: int, rng: random.Random) -> list[CorpusRow]:
    by: dict[str, list[CorpusRow]] = defaultdict(list)
    for row in rows:
        for topic in row.topics:
            by[topic].append(row)
    per = max(1, n // len(by))
    picked: dict[str, CorpusRow] = {}
    for topic in sorted(by):
        for row in rng.sample(by[topic], min(per, len(by[topic]))):
            picked[row.ref] = row
    return list(picked.values())


def flagged(rows: list[CorpusRow], n: int, rng: random.Random, pool_size: int) -> list[CorpusRow]:
    from guard import Guard

    guard = Guard()
    pool = rng.sample(rows, min(pool_size, len(rows)))
    hits = []
    for k in range(0, len(pool), 128):
        part = pool[k:k + 128]
        verdicts = guard.check_batch([r.text for r in part], role="user")
        hits += [row for row, v in zip(part, verdicts, strict=True) if not v.safe]
    return rng.sample(hits, min(n, len(hits)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("training/work/realtext/to_label"))
    ap.add_argument("--random", type=int, default=900)
    ap.add_argument("--topics", type=int, default=500)
    ap.add_argument("--flagged", type=int, default=450)
    ap.add_argument("--pool", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=230)
    args = ap.parse_args(argv)
    rng = random.Random(SEED)
    rows = [r for r in all_rows() if not r.passage]
    chosen: dict[str, tuple[CorpusRow, str]] = {}
    for why, part in (("random", stratified(rows, args.random, rng)),
                      ("topic", by_topic(rows, args.topics, rng)),
                      ("flagged", flagged(rows, args.flagged, rng, args.pool))):
        for row in part:
            chosen.setdefault(row.ref, (row, why))
    items = list(chosen.values())
    rng.shuffle(items)
    args.out.mkdir(parents=True, exist_ok=True)
    for k in range(0, len(items), args.batch):
        with (args.out / f"batch_{k // args.batch:02d}.jsonl").open("w", encoding="utf-8") as fh:
            for row, why in items[k:k + args.batch]:
                fh.write(json.dumps({"ref": row.ref, "register": row.register, "why": why, "text": row.text},
                                    ensure_ascii=False) + "\n")
    print(f"{len(items)} rows in {(len(items) + args.batch - 1) // args.batch} batches under {args.out}")


if __name__ == "__main__":
    main()
