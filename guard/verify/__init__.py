"""Verification on the user's own data: `kguard eval`, `kguard calibrate`, `kguard redteam`.

guard/cli.py adds each command's arguments with `add_arguments(command, parser)` and runs it with
`run(args, make_guard)`; `make_guard` builds the Guard from --model / --no-model / --policy the way
every other command does. Modules, one per idea: dataset (labelled rows), scoring (the guard over
rows), metrics, html (the plotted report), evaluate, calibrate, transforms and redteam (robustness),
probes and probe (leakage of an LLM endpoint), output (report files).

No command logs or prints a text; reports name rows by id and carry texts only with --show-text.
Exit codes: 0 done, 1 (redteam --endpoint only) an answer leaked, 2 an error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from guard.errors import GuardError

if TYPE_CHECKING:
    from guard.sdk import Guard

__all__ = ["add_arguments", "run"]

EXIT_OK, EXIT_LEAK, EXIT_ERROR = 0, 1, 2

_SHOW_TEXT = "put texts in the report (off by default: rows are named by id only)"


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    """Add `command`'s arguments to `parser`."""
    {"eval": _eval_arguments, "calibrate": _calibrate_arguments, "redteam": _redteam_arguments}[command](parser)
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped model)")
    parser.add_argument("--no-model", action="store_true", help="validated detectors only, no model")
    parser.add_argument("--policy", type=Path, help="policy file (TOML)")
    parser.add_argument("--encoding", default="utf-8", help="encoding of the labelled file")


def _eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="labelled rows: .jsonl or .csv (text, role, context, labels, spans)")
    p.add_argument("--out", type=Path, required=True, help="folder for report.json and report.html")
    p.add_argument("--worst", type=int, default=20, help="how many worst misses and false alarms to list")
    p.add_argument("--no-html", action="store_true", help="report.json only (no matplotlib needed)")
    p.add_argument("--show-text", action="store_true", help=_SHOW_TEXT)


def _calibrate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="labelled rows: .jsonl or .csv")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--target-precision", type=float, help="per category, the most recall at this precision")
    goal.add_argument("--max-fpr", type=float,
                      help="per category, the most recall with at most this share of the other rows flagged")
    p.add_argument("-o", "--output", type=Path, required=True, help="the policy file to write (TOML)")
    p.add_argument("--min-positives", type=int, default=20, help="fewer labelled rows: the category is refused")
    p.add_argument("--min-negatives", type=int, default=20, help="fewer rows without it: refused")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals")
    p.add_argument("--confidence", type=float, default=0.95, help="interval coverage")
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")


def _redteam_arguments(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--seeds", type=Path,
                      help="robustness: labelled seed rows (default: the built-in Korean set)")
    mode.add_argument("--endpoint", help="leak probing: an OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1)")
    p.add_argument("--out", type=Path, required=True, help="folder for report.json")
    p.add_argument("--transforms", help="robustness: comma-separated transforms (default: all)")
    p.add_argument("--llm-model", default="default", help="endpoint: the model name to ask for")
    p.add_argument("--max-requests", type=int, default=50, help="endpoint: requests sent at most (<= 1000)")
    p.add_argument("--rate", type=float, default=1.0, help="endpoint: requests per second at most (<= 20)")
    p.add_argument("--timeout", type=float, default=30.0, help="endpoint: seconds per request")
    p.add_argument("--max-tokens", type=int, default=256, help="endpoint: max_tokens of each request")
    p.add_argument("--name", action="append", dest="names", default=[],
                   help="endpoint: a person's name to ask about (repeat; default: three common names)")
    p.add_argument("--records", type=Path,
                   help="endpoint: records from the fine-tuning data (eval format) to have completed")
    p.add_argument("--api-key-env", help="endpoint: the environment variable holding the API key")
    p.add_argument("--show-text", action="store_true", help=_SHOW_TEXT)


def run(args: argparse.Namespace, make_guard: Callable[[], Guard]) -> int:
    """Run the parsed command; one line on stderr per outcome; the exit code."""
    try:
        return {"eval": _run_eval, "calibrate": _run_calibrate, "redteam": _run_redteam}[args.command](
            args, make_guard)
    except GuardError as exc:
        print(f"kguard {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _run_eval(args: argparse.Namespace, make_guard: Callable[[], Guard]) -> int:
    from guard.verify.evaluate import EvalOptions, evaluate_file

    if args.worst < 0:
        raise GuardError("--worst must be at least 0")
    options = EvalOptions(input=args.input, out=args.out, policy=args.policy, show_text=args.show_text,
                          worst=args.worst, html=not args.no_html, encoding=args.encoding)
    r = evaluate_file(options, make_guard)
    safe = r["safe_rows_flagged"]
    _say(f"{r['rows_judged']} rows judged ({len(r['errors'])} refused); macro F1 "
         f"{r['macro_f1'] if r['macro_f1'] is not None else 'n/a'}; safe rows flagged {safe['count']} of "
         f"{safe['of']}; report: {args.out / 'report.json'}" + ("" if args.no_html else ", report.html"))
    return EXIT_OK


def _run_calibrate(args: argparse.Namespace, make_guard: Callable[[], Guard]) -> int:
    from guard.verify.calibrate import CalibrateOptions, calibrate_file

    if args.min_positives < 1 or args.min_negatives < 1:
        raise GuardError("--min-positives and --min-negatives must be at least 1")
    options = CalibrateOptions(
        input=args.input, output=args.output, target_precision=args.target_precision, max_fpr=args.max_fpr,
        min_positives=args.min_positives, min_negatives=args.min_negatives, bootstrap=args.bootstrap,
        confidence=args.confidence, seed=args.seed, policy=args.policy, encoding=args.encoding)
    for ch in calibrate_file(options, make_guard):
        if ch.threshold is None:
            _say(f"{ch.code}: refused: {ch.refused}; the threshold in force stays")
        else:
            f = ch.figures or {}
            _say(f"{ch.code}: threshold {ch.threshold:.4f} (was {ch.previous:g}): precision "
                 f"{f['precision']['value']:.3f}, recall {f['recall']['value']:.3f}")
    _say(f"policy: {args.output}")
    return EXIT_OK


def _run_redteam(args: argparse.Namespace, make_guard: Callable[[], Guard]) -> int:
    if args.endpoint:
        from guard.verify.probe import ProbeOptions, run_probe

        r = run_probe(ProbeOptions(
            endpoint=args.endpoint, out=args.out, llm_model=args.llm_model, max_requests=args.max_requests,
            rate=args.rate, timeout_s=args.timeout, max_tokens=args.max_tokens, names=tuple(args.names),
            records=args.records, api_key_env=args.api_key_env, show_text=args.show_text, policy=args.policy,
            encoding=args.encoding), make_guard)
        leak = r["leak_rate"]
        _say(f"{r['requests_sent']} requests, {r['answered']} answered, {leak['hit']} leaked; "
             f"report: {args.out / 'report.json'}")
        return EXIT_LEAK if leak["hit"] else EXIT_OK
    from guard.verify.redteam import RedteamOptions, run_robustness

    names = tuple(n.strip() for n in args.transforms.split(",") if n.strip()) if args.transforms else None
    r = run_robustness(RedteamOptions(out=args.out, seeds=args.seeds, transforms=names, show_text=args.show_text,
                                      policy=args.policy, encoding=args.encoding), make_guard)
    for name, row in r["by_transform"].items():
        c = row["catch_rate"]
        _say(f"{name:16} caught {c['hit']:>3} of {c['of']:>3}" + (f" ({100 * c['rate']:.0f}%)" if c["of"] else ""))
    _say(f"report: {args.out / 'report.json'}")
    return EXIT_OK


def _say(line: str) -> None:
    print(line, file=sys.stderr)  # counts, codes and paths only
