"""The corpus rows training may use, and which of them still need a person's label.

Real text can hold real disclosures, so no row is assumed safe because it is real. A sentence row goes
into training as a benign negative only when (a) it is not in the dev set, (b) it carries no topic hint
(health, religion, politics, ...), and (c) the shipped guard does not flag it. Rows that fail (c) are
read and labelled by a person (labels/trainpool_*.jsonl, same format as the dev set's corpus rows) and
then used with those labels; flagged rows nobody has read are left out.

    python -m training.realtext.pool --sample 40000   # writes training/realtext/pool_flagged.txt
                                                       # and batches of flagged rows to label
    python -m training.realtext.pool --topics 1600    # batches of topic-hinted conversational rows

Topic-hinted rows are never used unread either: the second draw picks rows with a topic hint from the
registers where people speak of themselves and those close to them (chat, comments, SNS, reviews), so
that real disclosures, in the words people really use, reach training with a person's label.

pool_flagged.txt is committed: it records what kguard-ko-small 0.2.0 flagged, so the training data can
be rebuilt after the model that flagged it is replaced.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from training.realtext.corpora import CorpusRow, all_rows
from training.realtext.devset import LABELS, excluded_refs

SEED = 20261207
WORK = Path(__file__).resolve().parents[1] / "work" / "realtext"
FLAGGED = Path(__file__).resolve().parent / "pool_flagged.txt"
SAMPLE = 40000
TRAINPOOL_LABELS = "trainpool_*.jsonl"
_SPOKEN = ("chat", "comment", "sns", "review", "translated", "mixed", "learner")


def candidates(sample: int) -> list[CorpusRow]:
    """A seeded sample of sentence rows outside the dev set."""
    dev = excluded_refs()
    rows = [r for r in all_rows() if not r.passage and r.ref not in dev]
    return random.Random(SEED).sample(rows, min(sample, len(rows)))


def topic_draw(n: int) -> list[CorpusRow]:
    """A seeded draw of topic-hinted sentence rows from spoken registers, outside the dev set and the
    rows already labelled."""
    skip = excluded_refs() | set(labelled_trainpool())
    rows = [r for r in all_rows() if not r.passage and r.topics and r.register in _SPOKEN and r.ref not in skip]
    return random.Random(f"{SEED}:topics").sample(rows, min(n, len(rows)))


def write_batches(rows: list[CorpusRow], out: Path, batch: int, prefix: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for k in range(0, len(rows), batch):
        with (out / f"{prefix}_{k // batch:02d}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows[k:k + batch]:
                fh.write(json.dumps({"ref": row.ref, "register": row.register, "topics": list(row.topics),
                                     "text": row.text}, ensure_ascii=False) + "\n")


def flag(rows: list[CorpusRow]) -> list[bool]:
    from guard import Guard

    guard = Guard()
    out: list[bool] = []
    for k in range(0, len(rows), 128):
        out += [not v.safe for v in guard.check_batch([r.text for r in rows[k:k + 128]], role="user")]
    return out


def flagged_refs() -> set[str]:
    return set(FLAGGED.read_text(encoding="utf-8").split())


def labelled_trainpool() -> dict[str, dict[str, object]]:
    """Person-read labels of flagged training rows, by reference."""
    out: dict[str, dict[str, object]] = {}
    for path in sorted(LABELS.parent.glob(f"trainpool_labels/{TRAINPOOL_LABELS}")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                out[raw["ref"]] = raw
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=SAMPLE)
    ap.add_argument("--to-label", type=int, default=900)
    ap.add_argument("--batch", type=int, default=300)
    ap.add_argument("--topics", type=int, default=0, help="draw this many topic-hinted rows to label instead")
    args = ap.parse_args(argv)
    if args.topics:
        drawn = topic_draw(args.topics)
        write_batches(drawn, WORK / "trainpool_to_label", args.batch, "topic_batch")
        print(f"{len(drawn)} topic-hinted rows to label under {WORK / 'trainpool_to_label'}")
        return
    rows = candidates(args.sample)
    flags = flag(rows)
    WORK.mkdir(parents=True, exist_ok=True)
    FLAGGED.write_text("".join(r.ref + "\n" for r, f in zip(rows, flags, strict=True) if f), encoding="utf-8")
    hits = [r for r, f in zip(rows, flags, strict=True) if f]
    chosen = random.Random(SEED).sample(hits, min(args.to_label, len(hits)))
    write_batches(chosen, WORK / "trainpool_to_label", args.batch, "batch")
    print(f"{len(rows)} rows, {len(hits)} flagged, {len(chosen)} to label under {WORK / 'trainpool_to_label'}")


if __name__ == "__main__":
    main()
