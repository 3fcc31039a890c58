"""`kguard`: check a text, scan a file, serve the sidecar, list categories, show the model.

Exit codes: 0 safe (or success), 1 unsafe, 2 error. Errors are one line on stderr, never a traceback,
and never carry the checked text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from guard.config import GuardConfig, from_env
from guard.errors import GuardError
from guard.scan import add_scan_arguments, run_scan
from guard.server.app import add_serve_arguments, run_serve
from guard.taxonomy import CATEGORIES, Category, SpanType
from guard.verdict import Verdict

EXIT_SAFE, EXIT_UNSAFE, EXIT_ERROR = 0, 1, 2


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
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(_readable(verdict))
    return EXIT_SAFE if verdict.safe else EXIT_UNSAFE


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
        print(json.dumps([c.__dict__ for c in CATEGORIES], ensure_ascii=False, indent=2))
        return EXIT_SAFE
    for c in CATEGORIES:
        print(f"{c.code}  {c.id:<15} {c.name_ko} / {c.name_en}: {c.description}")
    return EXIT_SAFE


def _cmd_model_info(args: argparse.Namespace, config: GuardConfig) -> int:
    info = _guard(args, config).info
    data = {k: getattr(info, k) for k in ("name", "version", "sha256", "quant", "provider", "max_length")}
    data["thresholds"] = info.thresholds
    if args.json:
        print(json.dumps({**data, "files": info.files}, ensure_ascii=False, indent=2))
        return EXIT_SAFE
    lines = [f"{k}: {v}" for k, v in data.items()]
    lines += ["files (sha256):", *(f"  {digest}  {name}" for name, digest in info.files.items())]
    print("\n".join(lines))
    return EXIT_SAFE


def _cmd_scan(args: argparse.Namespace, config: GuardConfig) -> int:
    return run_scan(args)


def _cmd_serve(args: argparse.Namespace, config: GuardConfig) -> int:
    return run_serve(args)


def build_parser() -> argparse.ArgumentParser:
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
    add_scan_arguments(scan)
    scan.set_defaults(func=_cmd_scan)

    serve = sub.add_parser("serve", help="run the gRPC sidecar with its metrics endpoint")
    add_serve_arguments(serve)
    serve.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, from_env()))
    except GuardError as exc:
        print(f"kguard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
