"""The corpus rows training may use, and which of them still need a person's label.

Real text can hold real disclosures, so no row is assumed safe because it is real. A sentence row goes
into training as a benign negative only when (a) it is not in the dev set, (b) it carries no topic hint
(health, religion, politics, ...), and (c) the shipped guard does not flag it. Rows that fail (c) are
read and labelled by a person (labels/trainpool_*.jsonl, same format as the dev set's corpus rows) and
then used with those labels; flagged rows nobody has read are left out.

    python -m training.realtext.pool --sample 40000   # writes training/realtext/pool_flagged_1.txt
                                                       # and batches of flagged rows to label
    python -m training.realtext.pool --topics 1600    # batches of topic-hinted conversational rows

Topic-hinted rows are never used unread either: the second draw picks rows with a topic hint from the
registers where people speak of themselves and those close to them (chat, comments, SNS, reviews), so
that real disclosures, in the words people really use, reach training with a person's label.

pool_flagged_1.txt is committed: it records what kguard-ko-small 0.2.0 flagged, so the training data can
be rebuilt after the model that flagged it is replaced.

    python -m training.realtext.pool --round 2          # a second 40,000 rows, none of the first draw's,
                                                        # flagged by the model shipped then (0.6.0):
                                                        # pool_flagged_2.txt and batches round2_*
    python -m training.realtext.pool --round 3          # a third, none of the first two's, flagged by
                                                        # 0.9.1: pool_flagged_3.txt, batches round3_*
    python -m training.realtext.pool --round 4 --to-label 400 --batch 100   # a fourth, flagged by 0.9.1
    python -m training.realtext.pool --round 5 --to-label 500 --batch 100   # a fifth, flagged by 0.10.0
    python -m training.realtext.pool --topics 900 --topic health   # a draw of one topic only
    python -m training.realtext.pool --passages --to-label 600     # the sentences of topic-hinted
                                                        # passages (news, reviews, reports), flagged by
                                                        # 0.10.0: pool_flagged_passages.txt
    python -m training.realtext.pool --recheck --to-label 600 --batch 100   # every benign negative
                                                        # again, with the shipped guard (0.10.0):
                                                        # pool_flagged_recheck.txt
    python -m training.realtext.pool --recheck 2 --model DIR --to-label 600 --batch 100   # what the
                                                        # first left, with a candidate (run 31):
                                                        # pool_flagged_recheck2.txt
    python -m training.realtext.pool --recheck 3 --to-label 600 --batch 100   # what the first two
                                                        # left, with 0.12.0: pool_flagged_recheck3.txt
    python -m training.realtext.pool --recheck 4 --model DIR --to-label 600 --batch 100   # what the
                                                        # first three left, with run 32's candidate U
                                                        # (run 33): pool_flagged_recheck4.txt
    python -m training.realtext.pool --read-negatives 100   # a random sample of the benign negatives
                                                        # per register group (STRATA), for a person to
                                                        # read: how many disclosures pass every check

Each round's own flagged rows go to a person; its unflagged rows join the benign negatives. A round's
model was the one shipped then (round 1's is 0.2.0, which missed one real disclosure in five), so
`--recheck` scores every benign negative again, the unflagged rows and the sentences of the passages
training cuts into pieces, with the guard shipped now: what it flags leaves the negatives (a flagged
passage sentence takes its whole passage out) and a seeded share goes to a person.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, cast

from training.realtext.corpora import CorpusRow, all_rows, resolve, sentences
from training.realtext.devset import LABELS, excluded_refs

if TYPE_CHECKING:
    from guard import Guard, Verdict

SEED = 20261207
WORK = Path(__file__).resolve().parents[1] / "work" / "realtext"
SAMPLE = 40000
ROUNDS = (1, 2, 3, 4, 5)
#: The rechecks in order: `--recheck N` writes pool_flagged_<RECHECKS[N-1]>.txt.
RECHECKS = ("recheck", "recheck2", "recheck3", "recheck4")
TRAINPOOL_LABELS = "trainpool_*.jsonl"
_SPOKEN = ("chat", "comment", "sns", "review", "translated", "mixed", "learner")


def candidates(sample: int, round_: int = 1) -> list[CorpusRow]:
    """A seeded sample of sentence rows outside the dev set; each round draws from what the earlier
    rounds left."""
    dev = excluded_refs()
    rows = [r for r in all_rows() if not r.passage and r.ref not in dev]
    taken: set[str] = set()
    drawn: list[CorpusRow] = []
    for k in range(1, round_ + 1):
        rest = [r for r in rows if r.ref not in taken]
        drawn = random.Random(SEED if k == 1 else f"{SEED}:round{k}").sample(rest, min(sample, len(rest)))
        taken |= {r.ref for r in drawn}
    return drawn


def passage_sentences() -> list[CorpusRow]:
    """The sentences of topic-hinted passages that hold no dev sentence. Training uses no such passage
    unread (train_rows.passage_pieces skips them), so their sentences reach it only with a label."""
    dev = {resolve(ref).text for ref in excluded_refs()}
    long_dev = {t for t in dev if len(t) >= 25}  # a short dev row may be a common phrase: matched whole only
    return [s for row in all_rows() if row.passage and row.topics and not any(t in row.text for t in long_dev)
            for s in sentences(row) if s.text not in dev]


def flagged_file(round_: int | str) -> Path:
    return Path(__file__).resolve().parent / f"pool_flagged_{round_}.txt"


def topic_draw(n: int, topic: str = "") -> list[CorpusRow]:
    """A seeded draw of topic-hinted sentence rows from spoken registers, outside the dev set and the
    rows already labelled; with `topic`, of that topic only."""
    skip = excluded_refs() | set(labelled_trainpool())
    rows = [r for r in all_rows() if not r.passage and r.topics and r.register in _SPOKEN and r.ref not in skip
            and (not topic or topic in r.topics)]
    return random.Random(f"{SEED}:topics{':' + topic if topic else ''}").sample(rows, min(n, len(rows)))


#: Register groups of the --read-negatives sample: where people speak of themselves first.
STRATA = (("chat",), ("translated",), ("comment", "sns"),
          ("mixed", "review", "news", "report", "learner", "government", "encyclopedia"))


def negatives_sample(per_stratum: int) -> list[list[CorpusRow]]:
    """A seeded random sample of the benign negatives (every round's, after the recheck), per stratum."""
    rows = list({row.ref: row for round_ in ROUNDS for row in unflagged(round_)}.values())
    rng = random.Random(SEED)
    groups = [[row for row in rows if row.register in registers] for registers in STRATA]
    if sum(map(len, groups)) != len(rows):
        raise ValueError("a register outside STRATA: add it to one")
    return [rng.sample(group, min(per_stratum, len(group))) for group in groups]


def write_batches(rows: list[CorpusRow], out: Path, batch: int, prefix: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for k in range(0, len(rows), batch):
        with (out / f"{prefix}_{k // batch:02d}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows[k:k + batch]:
                fh.write(json.dumps({"ref": row.ref, "register": row.register, "topics": list(row.topics),
                                     "text": row.text}, ensure_ascii=False) + "\n")


def flag(texts: list[str], guard: Guard | None = None) -> list[bool]:
    """Whether the guard (by default the shipped one) flags each text as a user message."""
    from guard import Guard

    guard = guard or Guard()
    out: list[bool] = []
    for k in range(0, len(texts), 128):
        verdicts = cast("list[Verdict]", guard.check_batch(texts[k:k + 128], role="user"))  # errors raise
        out += [not v.safe for v in verdicts]
    return out


def flagged_refs(round_: int | str = 1) -> set[str]:
    return set(flagged_file(round_).read_text(encoding="utf-8").split())


def unflagged(round_: int, recheck: bool = True) -> list[CorpusRow]:
    """A round's rows its model did not flag and that carry no topic hint; with `recheck`, also not
    flagged by any recheck (pool_flagged_recheck*.txt, those that have been run)."""
    flagged = flagged_refs(round_) | (rechecked() if recheck else set())
    return [row for row in candidates(SAMPLE, round_) if row.ref not in flagged and not row.topics]


def rechecked(before: int = len(RECHECKS)) -> set[str]:
    """Rows and passages the first `before` rechecks flagged (a passage by its whole-row reference)."""
    done = [name for name in RECHECKS[:before] if flagged_file(name).is_file()]
    return set().union(*(flagged_refs(name) for name in done))


def recheck_rows(n: int = 1) -> list[CorpusRow]:
    """What `--recheck n` scores: every round's unflagged rows, and the sentences of the passages that
    train_rows.passage_pieces cuts (no topic hint; a passage holding a dev sentence is skipped there),
    less what the rechecks before it flagged."""
    earlier = rechecked(n - 1)
    rows = [row for round_ in ROUNDS for row in unflagged(round_, recheck=False) if row.ref not in earlier]
    return rows + [s for row in all_rows() if row.passage and not row.topics and row.ref not in earlier
                   for s in sentences(row)]


def labelled_trainpool() -> dict[str, dict[str, object]]:
    """Person-read labels of flagged training rows, by reference."""
    out: dict[str, dict[str, object]] = {}
    for path in sorted(LABELS.parent.glob(f"trainpool_labels/{TRAINPOOL_LABELS}")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                out[raw["ref"]] = raw
    return out


def _guard(model: Path | None) -> Guard | None:
    from guard import Guard

    return Guard(model) if model else None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=SAMPLE)
    ap.add_argument("--to-label", type=int, default=900)
    ap.add_argument("--batch", type=int, default=300)
    ap.add_argument("--round", type=int, default=1, choices=ROUNDS, dest="round_")
    ap.add_argument("--topics", type=int, default=0, help="draw this many topic-hinted rows to label instead")
    ap.add_argument("--topic", default="", help="with --topics: of this topic only")
    ap.add_argument("--passages", action="store_true", help="draw the sentences of topic-hinted passages")
    ap.add_argument("--recheck", type=int, nargs="?", const=1, default=0,
                    help="score every benign negative again (recheck N: after rechecks 1..N-1)")
    ap.add_argument("--model", type=Path, default=None, help="the model that flags (default: the shipped one)")
    ap.add_argument("--read-negatives", type=int, default=0, help="draw this many benign negatives per stratum")
    args = ap.parse_args(argv)
    if args.read_negatives:
        for k, drawn in enumerate(negatives_sample(args.read_negatives)):
            write_batches(drawn, WORK / "trainpool_to_label", args.read_negatives, f"negatives_E{k}")
        print(f"{len(STRATA)} x {args.read_negatives} benign negatives to read under {WORK / 'trainpool_to_label'}")
        return
    if args.topics:
        drawn = topic_draw(args.topics, args.topic)
        write_batches(drawn, WORK / "trainpool_to_label", args.batch, f"topic_{args.topic or 'any'}")
        print(f"{len(drawn)} topic-hinted rows to label under {WORK / 'trainpool_to_label'}")
        return
    name = "passages" if args.passages else RECHECKS[args.recheck - 1] if args.recheck else args.round_
    rows = (passage_sentences() if args.passages else recheck_rows(args.recheck) if args.recheck
            else candidates(args.sample, args.round_))
    flags = flag([r.text for r in rows], _guard(args.model))
    hits = [r for r, f in zip(rows, flags, strict=True) if f]
    # a passage sentence's reference is its passage's plus "#START-END": the passage leaves as a whole
    refs = sorted({r.ref.partition("#")[0] if name in RECHECKS else r.ref for r in hits})
    flagged_file(name).write_text("".join(ref + "\n" for ref in refs), encoding="utf-8")
    if name in RECHECKS:  # rows to read (not read already); passages just leave
        read = labelled_trainpool()
        hits = [r for r in hits if "#" not in r.ref and r.ref not in read]
    rng = random.Random(SEED if name == 1 else f"{SEED}:{name}")  # round 1 as labelled
    chosen = rng.sample(hits, min(args.to_label, len(hits)))
    write_batches(chosen, WORK / "trainpool_to_label", args.batch, f"round{name}")
    print(f"{len(rows)} rows, {len(hits)} flagged, {len(chosen)} to label under {WORK / 'trainpool_to_label'}")


if __name__ == "__main__":
    main()
