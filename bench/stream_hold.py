"""What the stream's sentence hold costs: release delay of streamed answers, with and without it.

The LLM answers of bench/data are streamed through StreamModerator (the logic behind CheckStream) with
the shipped model, in chunks of `--chunk-chars` characters arriving every `--chunk-ms` milliseconds (an
LLM's token pace), once per `max_sentence_hold` setting (0 is the identifier hold alone). Per setting:

- release delay of each character: from the arrival of its chunk to the end of the check that releases
  it (the arrival time of the releasing chunk plus that check's measured compute), p50/p95/mean;
- delay of the first shown character of each answer;
- checks and check CPU time per answer (a held sentence is checked once, not chunk by chunk);
- the model's spans (names, addresses...) of the whole-answer check that the stream showed partly in
  clear, and the detectors' spans likewise (P5 is masked instead of blocked here, to compare masks).

    python -m bench.stream_hold [--model DIR] [--limit 40] [--chunk-chars 3] [--chunk-ms 40] [--tiny]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.common import Row, load_workload, model_dir, percentiles, report, table
from guard.policy import Overrides
from guard.sdk import Guard
from guard.stream import DEFAULT_MAX_SENTENCE_HOLD, StreamModerator
from guard.verdict import Verdict

SETTINGS = (0, 48, DEFAULT_MAX_SENTENCE_HOLD, 160)
OVERRIDES = Overrides(actions={"P5": "mask"})


@dataclass
class _Answer:
    """One streamed answer's figures."""

    delays_s: list[float]
    first_s: float
    checks: int
    cpu_s: float
    shown: str


def stream_one(guard: Guard, row: Row, hold: int, chunk_chars: int, chunk_s: float) -> _Answer:
    """Stream `row` chunk by chunk; each character's delay from its chunk's arrival to its release.

    Chunk k arrives at k * chunk_s; checks run one after another (a check slower than the pace delays the
    next one), so the clock is max(clock, arrival) + the measured check time.
    """
    moderator = StreamModerator(guard, context=row.context or None, overrides=OVERRIDES, max_sentence_hold=hold)
    chunks = [row.text[i:i + chunk_chars] for i in range(0, len(row.text), chunk_chars)]
    delays: list[float] = []
    shown: list[str] = []
    clock = cpu = 0.0
    checks = received = 0
    for k, chunk in enumerate([*chunks, None]):
        started = time.perf_counter()
        update = moderator.feed(chunk) if chunk is not None else moderator.finish()
        spent = time.perf_counter() - started
        received += len(chunk or "")
        clock = max(clock, min(k, len(chunks) - 1) * chunk_s) + spent
        cpu += spent
        checks += bool(update.text) or update.verdict is not None
        shown.append(update.text)
        # The piece released is [start, received - held) of the answer (its text may be masked).
        delays += [clock - (pos // chunk_chars) * chunk_s for pos in range(update.start, received - update.held)]
    return _Answer(delays, delays[0] if delays else 0.0, checks, cpu, "".join(shown))


def leaked_spans(text: str, whole: Verdict, shown: str) -> dict[str, int]:
    """Spans masked by the whole-answer check with a masked character shown in clear by the stream."""
    out = {"model": 0, "model_total": 0, "detector": 0, "detector_total": 0, "not_comparable": 0}
    if whole.masked is None or not (len(whole.masked) == len(text) == len(shown)):
        out["not_comparable"] = 1  # a mask that changes the length (credentials) cannot be lined up
        return out
    for span in whole.spans:
        hidden = [i for i in range(span.start, span.end) if whole.masked[i] != text[i]]
        if not hidden:
            continue
        out[f"{span.source}_total"] += 1
        out[span.source] += any(shown[i] == text[i] for i in hidden)
    return out


def run_setting(guard: Guard, rows: list[Row], hold: int, chunk_chars: int, chunk_s: float) -> dict[str, Any]:
    delays: list[float] = []
    firsts: list[float] = []
    checks: list[int] = []
    cpu: list[float] = []
    leaks = {"model": 0, "model_total": 0, "detector": 0, "detector_total": 0, "not_comparable": 0}
    for row in rows:
        answer = stream_one(guard, row, hold, chunk_chars, chunk_s)
        delays += answer.delays_s
        firsts.append(answer.first_s)
        checks.append(answer.checks)
        cpu.append(answer.cpu_s)
        whole = guard.check(row.text, role="assistant", context=row.context or None, overrides=OVERRIDES)
        for key, value in leaked_spans(row.text, whole, answer.shown).items():
            leaks[key] += value
    return {"max_sentence_hold": hold, "delay": percentiles(delays), "first": percentiles(firsts),
            "checks_per_answer": statistics.fmean(checks), "cpu_ms_per_answer": 1000 * statistics.fmean(cpu),
            "spans": leaks}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--limit", type=int, default=40,
                        help="answers to stream (default 40: without the sentence hold an answer costs seconds)")
    parser.add_argument("--chunk-chars", type=int, default=3, help="characters per chunk (about one token)")
    parser.add_argument("--chunk-ms", type=float, default=40.0, help="milliseconds between chunks")
    parser.add_argument("--tiny", action="store_true", help="smoke run: 2 answers, two settings")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    rows = load_workload("answers", 2 if args.tiny else args.limit)
    guard = Guard(model_dir(args.model, tiny=args.tiny))
    chunk_s = args.chunk_ms / 1000.0
    settings = (0, DEFAULT_MAX_SENTENCE_HOLD) if args.tiny else SETTINGS
    results = [run_setting(guard, rows, hold, args.chunk_chars, chunk_s) for hold in settings]
    headers = ["max_sentence_hold", "delay p50 ms", "p95 ms", "mean ms", "first shown p50 ms", "p95 ms",
               "checks/answer", "check CPU ms/answer", "model spans shown in clear", "detector spans"]
    lines = [[r["max_sentence_hold"], r["delay"]["p50_ms"], r["delay"]["p95_ms"], r["delay"]["mean_ms"],
              r["first"]["p50_ms"], r["first"]["p95_ms"], r["checks_per_answer"], r["cpu_ms_per_answer"],
              f"{r['spans']['model']}/{r['spans']['model_total']}",
              f"{r['spans']['detector']}/{r['spans']['detector_total']}"] for r in results]
    chars = statistics.fmean(len(r.text) for r in rows)
    md = (f"{len(rows)} LLM answers ({chars:.0f} characters on average) streamed in chunks of "
          f"{args.chunk_chars} characters every {args.chunk_ms:.0f} ms through StreamModerator (in-process, "
          f"the shipped model); P5 masked instead of blocked so masks can be compared.\n\n"
          + table(headers, lines))
    print(md)
    report("stream_hold", {"answers": len(rows), "chunk_chars": args.chunk_chars, "chunk_ms": args.chunk_ms,
                           "results": results}, md, smoke=args.tiny)


if __name__ == "__main__":
    main()
