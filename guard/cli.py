"""`kguard`: check a text, scan a file, serve the sidecar, list categories, show the model.

Exit codes: 0 safe (or success), 1 unsafe, 2 error. Errors are one line on stderr, never a traceback,
and never carry the checked text.

Sub-commands load what they need when they run: `kguard check` never imports gRPC, the server or the
scanner (they cost a second or more of start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from guard.config import GuardConfig, from_env
from guard.errors import GuardError
from guard.taxonomy import CATEGORIES, Category, SpanType
from guard.verdict import Verdict

EXIT_SAFE, EXIT_UNSAFE, EXIT_ERROR = 0, 1, 2
# listed here so `kguard --help` imports nothing of guard.verify
_VERIFY_COMMANDS = {
    "eval": "measure the guard on a labelled JSONL/CSV file: report.json and report.html",
    "calibrate": "choose per-category thresholds on a labelled file and write them as a policy file",
    "redteam": "robustness to adversarial rewrites of seed cases, or leak probing of an LLM endpoint",
}


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped model)")
    parser.add_argument("--no-model", action="store_true", help="validated detectors only, no model")
    parser.add_argument("--policy", type=Path, help="policy file (TOML)")


def _guard(args: argparse.Namespace, config: GuardConfig):  # type: ignore[no-untyped-def]
    from guard.policy import Policy
    from guard.sdk import Guard

    policy = Policy.from_file(args.policy) if args.policy else None
    if args.no_model:
        return Guard.detectors_only(policy=policy, config=config)
    return Guard(args.model, policy=policy, config=config)


def _cmd_check(args: argparse.Namespace, config: GuardConfig) -> int:
    # bytes, so that invalid UTF-8 (from a pipe or a badly encoded argv) gets a clear InputError
    text = sys.stdin.buffer.read() if args.text == "-" else args.text.encode("utf-8", "surrogateescape")
    verdict = _guard(args, config).check(text, role=args.role)
    _print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2) if args.json else _readable(verdict))
    return EXIT_SAFE if verdict.safe else EXIT_UNSAFE


def _print(text: str) -> None:
    """Print to stdout; when the reader has gone (`kguard categories | head`), stop writing quietly."""
    try:
        print(text, flush=True)  # the verdict the caller asked for, on stdout: noqa: privacy
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _readable(v: Verdict) -> str:
    if v.safe:
        return "SAFE 안전 (allow)"
    lines = [f"UNSAFE 위험 ({v.action})"]
    for code in v.categories:
        info = Category(code).info
        lines.append(f"  {code} {info.name_ko} / {info.name_en}: {v.scores[code]:.2f}")
    for s in v.spans:
        name = SpanType(s.type).name_ko
        lines.append(f"  span [{s.start}:{s.end}] {s.type} {name} ({s.category}, {s.source}, {s.score:.2f})")
    if v.masked is not None and v.action in ("mask", "block"):
        lines.append(f"masked: {v.masked}")
    return "\n".join(lines)


def _cmd_categories(args: argparse.Namespace, config: GuardConfig) -> int:
    if args.json:
        _print(json.dumps([c.__dict__ for c in CATEGORIES], ensure_ascii=False, indent=2))
        return EXIT_SAFE
    _print("\n".join(f"{c.code}  {c.id:<15} {c.name_ko} / {c.name_en}: {c.description}" for c in CATEGORIES))
    return EXIT_SAFE


def _cmd_model_info(args: argparse.Namespace, config: GuardConfig) -> int:
    info = _guard(args, config).info
    data = {k: getattr(info, k) for k in ("name", "version", "sha256", "quant", "provider", "max_length")}
    data["thresholds"] = info.thresholds
    if args.json:
        _print(json.dumps({**data, "files": info.files}, ensure_ascii=False, indent=2))
        return EXIT_SAFE
    lines = [f"{k}: {v}" for k, v in data.items()]
    lines += ["files (sha256):", *(f"  {digest}  {name}" for name, digest in info.files.items())]
    _print("\n".join(lines))
    return EXIT_SAFE


def _cmd_scan(args: argparse.Namespace, config: GuardConfig) -> int:
    from guard.scan import run_scan

    return run_scan(args)


def _cmd_serve(args: argparse.Namespace, config: GuardConfig) -> int:
    from guard.server.app import run_serve

    return run_serve(args)


def _cmd_verify(args: argparse.Namespace, config: GuardConfig) -> int:
    from guard.verify import run

    return run(args, lambda: _guard(args, config))


def _add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    from guard.scan import add_scan_arguments

    add_scan_arguments(parser)


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    from guard.server.app import add_serve_arguments

    add_serve_arguments(parser)


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (its first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """kguard's parser. With `command`, only that sub-command's options are loaded (the others are
    listed, their modules not imported); without, every sub-command is complete."""
    parser = argparse.ArgumentParser(prog="kguard", description="Korean privacy guard for LLM apps")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check one text (argument, or - for stdin)")
    check.add_argument("text")
    check.add_argument("--role", default="user", help="user (a prompt) or assistant (an answer)")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    _add_model_arguments(check)
    check.set_defaults(func=_cmd_check)

    cats = sub.add_parser("categories", help="list the taxonomy")
    cats.add_argument("--json", action="store_true")
    cats.set_defaults(func=_cmd_categories)

    info = sub.add_parser("model-info", help="show the loaded model")
    info.add_argument("--json", action="store_true")
    _add_model_arguments(info)
    info.set_defaults(func=_cmd_model_info)

    scan = sub.add_parser("scan", help="scan a JSONL, CSV, Parquet or text file")
    if command in (None, "scan"):
        _add_scan_arguments(scan)
    scan.set_defaults(func=_cmd_scan)

    serve = sub.add_parser("serve", help="run the gRPC sidecar with its metrics endpoint")
    if command in (None, "serve"):
        _add_serve_arguments(serve)
    serve.set_defaults(func=_cmd_serve)

    for name, about in _VERIFY_COMMANDS.items():  # guard/verify: eval, calibrate, redteam
        verify = sub.add_parser(name, help=about)
        if command in (None, name):
            from guard.verify import add_arguments

            add_arguments(name, verify)
        verify.set_defaults(func=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command_of(argv)).parse_args(argv)
    try:
        return int(args.func(args, from_env()))
    except GuardError as exc:
        print(f"kguard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
