"""Long documents of the training pool's benign negatives: do real sentences that pass alone add up?

The dev set's benign long documents (longdocs) join its labelled safe rows, many of which were drawn
because an earlier model flagged them, so they measure lone false alarms as much as dilution. These join
the pool's benign negatives in the same registers instead: rows outside the dev set that the guard
shipped at the recheck does not flag alone (pool --recheck), the issue's own construction ("real news
sentences that each pass alone"), at scale. Each flagged document's rows are scored again alone: a row
the model under test flags alone is a lone false alarm (or a disclosure nobody has read), not sentences
adding up. Most of the pool was never trained on (training samples 12,000 of its rows per run).

    python -m training.realtext.pooldocs --model DIR --docs 1500
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from guard import Guard
from training.realtext.longdocs import CARRIER_REGISTERS, join_texts
from training.realtext.pool import flag
from training.realtext.train_rows import benign_pool

SEED = 5


def pool_texts() -> list[str]:
    return [r.text for r in benign_pool()[0] if r.register in CARRIER_REGISTERS and len(r.text) >= 20]


def figures(guard: Guard, docs: list[list[str]]) -> dict[str, object]:
    flags = flag([" ".join(parts) for parts in docs], guard)
    flagged = [parts for parts, f in zip(docs, flags, strict=True) if f]
    lone = sum(any(flag(parts, guard)) for parts in flagged)
    return {"docs": len(docs), "mean_chars": round(sum(len(" ".join(p)) for p in docs) / max(1, len(docs))),
            "flagged": round(len(flagged) / max(1, len(docs)), 4),
            "flagged_with_a_row_flagged_alone": lone,
            "flagged_with_no_row_flagged_alone": len(flagged) - lone}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--docs", type=int, default=1500)
    args = ap.parse_args(argv)
    docs = join_texts(pool_texts(), args.docs, seed=SEED)
    print(json.dumps(figures(Guard(args.model), docs), indent=1))


if __name__ == "__main__":
    main()
