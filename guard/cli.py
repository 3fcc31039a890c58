"""`kguard`: check a text, scan a file, serve the sidecar, list categories, show the model.

The edge of the package: the only place that reads the command line and the environment. Each command
resolves one GuardConfig (`config_from_args`: the defaults, then KGUARD_* variables, then the options
given) and passes it down; nothing below reads argv or os.environ.

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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from guard.config import GuardConfig, from_env, replace_engine_dir, serve_defaults
from guard.errors import GuardError, InputError
from guard.taxonomy import CATEGORIES, Category, SpanType
from guard.verdict import Verdict

if TYPE_CHECKING:
    from guard.scan import ScanOptions
    from guard.sdk import Guard

EXIT_SAFE, EXIT_UNSAFE, EXIT_ERROR = 0, 1, 2
_MAX_PORT = 65535
_SCAN_FORMATS = ("jsonl", "csv", "parquet", "text")  # guard.scan.readers.FORMATS (checked by a test)
_MASKINGS = ("placeholder", "partial", "hash")        # guard.masking.MaskOperator values (idem)
_SERVER_OPTIONS = ("host", "port", "unix_socket", "metrics_host", "metrics_port", "tls_cert", "tls_key",
                   "tls_client_ca", "max_message_bytes", "grace_s")
_BATCHER_OPTIONS = ("max_batch_size", "max_queue", "max_concurrent_batches")
# listed here so `kguard --help` imports nothing of guard.verify
_VERIFY_COMMANDS = {
    "eval": "measure the guard on a labelled JSONL/CSV file: report.json and report.html",
    "calibrate": "choose per-category thresholds on a labelled file and write them as a policy file",
    "redteam": "robustness to adversarial rewrites of seed cases, or leak probing of an LLM endpoint",
}


# configuration ------------------------------------------------------------------------------------

def config_from_args(args: argparse.Namespace, base: GuardConfig | None = None) -> GuardConfig:
    """The command's one GuardConfig: `base` (default: KGUARD_* variables over the library's defaults,
    or over the sidecar's for `serve`), overridden by the options given on the command line."""
    if base is None:
        base = from_env(base=serve_defaults() if getattr(args, "command", None) == "serve" else None)
    server = {f: getattr(args, f) for f in _SERVER_OPTIONS if getattr(args, f, None) is not None}
    batcher = {f: getattr(args, f) for f in _BATCHER_OPTIONS if getattr(args, f, None) is not None}
    if getattr(args, "max_wait_ms", None) is not None:
        batcher["max_wait_s"] = args.max_wait_ms / 1000.0
    limits = base.limits
    if getattr(args, "max_text_chars", None) is not None:
        limits = replace(limits, max_text_chars=args.max_text_chars)
    engine = replace_engine_dir(base.engine, getattr(args, "model", None))
    if getattr(args, "sessions", None) is not None:
        engine = replace(engine, sessions=args.sessions)
    return replace(base, server=replace(base.server, **server), batcher=replace(base.batcher, **batcher),
                   limits=limits, engine=engine, policy_file=getattr(args, "policy", None) or base.policy_file)


def port_number(value: str) -> int:
    """argparse type for --port: an integer in 0-65535."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= _MAX_PORT:
        raise argparse.ArgumentTypeError(f"{port} is out of range (0-{_MAX_PORT})")
    return port


# commands -----------------------------------------------------------------------------------------

def _guard(args: argparse.Namespace, config: GuardConfig) -> Guard:
    from guard.sdk import Guard

    return Guard.detectors_only(config=config) if args.no_model else Guard(config=config)


def _cmd_check(args: argparse.Namespace, config: GuardConfig) -> int:
    # bytes, so that invalid UTF-8 (from a pipe or a badly encoded argv) gets a clear InputError
    text = sys.stdin.buffer.read() if args.text == "-" else args.text.encode("utf-8", "surrogateescape")
    verdict = _guard(args, config).check(text, role=args.role)
    _print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2) if args.json else _readable(verdict))
    return EXIT_SAFE if verdict.safe else EXIT_UNSAFE


def _print(text: str) -> None:  # the answer the caller asked for, on stdout: noqa: privacy
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


def scan_options(args: argparse.Namespace, config: GuardConfig) -> ScanOptions:
    """`kguard scan`'s ScanOptions from its arguments and the command's config."""
    from guard.scan import EngineSpec, ScanOptions, ScanSettings
    from guard.scan.readers import TEXT_FIELD

    fmt = None if args.format == "auto" else args.format
    fields = tuple(f.strip() for raw in (args.fields or []) for f in raw.split(",") if f.strip())
    if not fields:
        if fmt != "text" and args.input.suffix.lower() not in (".txt", ".text"):
            raise InputError("name the field(s) to scan with --field")
        fields = (TEXT_FIELD,)
    if args.chunk_size < 1 or args.workers < 0:
        raise InputError("--chunk-size must be at least 1 and --workers at least 0")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return ScanOptions(
        input=args.input, output=args.output, report=args.report, format=fmt,
        settings=ScanSettings(fields=fields, role=args.role, drop=args.drop, annotate=args.annotate),
        engine=EngineSpec(config=config, detectors_only=args.no_model, masking=args.masking),
        workers=args.workers or cores, cores=cores, chunk_size=args.chunk_size, resume=args.resume,
        encoding=args.encoding, progress=not args.no_progress)


def _cmd_scan(args: argparse.Namespace, config: GuardConfig) -> int:
    from guard.scan import PSEUDONYMIZE, run_pseudo, run_scan

    if args.masking == PSEUDONYMIZE or args.reid_report or args.vault:
        return run_pseudo(args, lambda a: scan_options(a, config))
    if args.output is None:
        raise InputError("name the output with -o")
    return run_scan(scan_options(args, config))


def _cmd_serve(args: argparse.Namespace, config: GuardConfig) -> int:
    from guard.server.app import run_serve

    return run_serve(config)


def _cmd_verify(args: argparse.Namespace, config: GuardConfig) -> int:
    from guard.verify import run

    return run(args, lambda: _guard(args, config))


# arguments ----------------------------------------------------------------------------------------

def _add_model_arguments(parser: argparse.ArgumentParser, *, no_model: bool = True) -> None:
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped model)")
    if no_model:
        parser.add_argument("--no-model", action="store_true", help="validated detectors only, no model")
    parser.add_argument("--policy", type=Path, help="policy file (TOML)")


def _add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("input", type=Path, help="the file to scan")
    add("-o", "--output", type=Path,
        help="the scanned records (same format as the input; a directory for Parquet); required except for "
             "a --reid-report alone")
    add("--format", choices=("auto", *_SCAN_FORMATS), default="auto",
        help="input format (default: from the file's suffix)")
    add("-f", "--field", action="append", dest="fields", metavar="NAME",
        help="a field to scan (repeat or comma-separate); a field may hold a string, a list of strings "
             "or a chat [{role, content}, ...] (text format: 'text')")
    add("--role", choices=("user", "assistant"), default="user",
        help="role of plain string fields (chat messages carry their own)")
    add("--drop", action="store_true", help="leave flagged records out instead of writing them masked")
    add("--masking", choices=(*_MASKINGS, "pseudonymize"), default="placeholder",
        help="how spans are masked (default placeholder: no digit of an identifier kept); pseudonymize: "
             "consistent pseudonyms, reversible with --vault and its key")
    add("--vault", type=Path, metavar="FILE",
        help="with --masking pseudonymize: the encrypted vault file (extended if it exists)")
    add("--vault-key-file", type=Path, metavar="FILE",
        help="the vault key (at least 16 bytes; default: the KGUARD_VAULT_KEY variable)")
    add("--reid-report", type=Path, metavar="FILE",
        help="write the re-identification risk of the input: quasi-identifiers, k-anonymity, l-diversity, "
             "a generalization reaching k (records by number only)")
    add("--reid-fields", metavar="NAMES",
        help="fields of the equivalence classes: quasi-identifier types (birth_date, birth_year, age, gender, "
             "region, school, workplace, job_title, event_date) or record columns, comma-separated "
             "(default: the types found)")
    add("--reid-k", type=int, default=5, help="the k to reach (default 5)")
    add("--reid-l", type=int, default=2, help="the l to reach (default 2)")
    add("--reid-sensitive", metavar="NAME",
        help="the sensitive column for l-diversity (default: the flagged S1-S9 categories)")
    add("--annotate", metavar="NAME", help="add a field NAME with each record's flagged category codes")
    add("--report", type=Path, help="JSON report path (default: <output>.report.json)")
    add("--workers", type=int, default=0, help="processes, one engine each (default: one per core)")
    add("--chunk-size", type=int, default=256,
        help="records per chunk: unit of work, output commit and checkpoint")
    add("--resume", action="store_true",
        help="continue an interrupted scan (with nothing to resume, start from the beginning)")
    add("--encoding", default="utf-8", help="input text encoding (e.g. cp949)")
    add("--no-progress", action="store_true", help="no progress display")
    add("--max-text-chars", type=int,
        help="longer texts are reported and their record is not written (default: KGUARD_LIMITS_MAX_TEXT_CHARS, "
             "else 200,000)")
    _add_model_arguments(parser)


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """`kguard serve` options; unset ones fall back to KGUARD_* variables, then the defaults."""
    add = parser.add_argument
    _add_model_arguments(parser, no_model=False)
    add("--host", help="gRPC host (default 127.0.0.1)")
    add("--port", type=port_number, help="gRPC port (default 50051; 0 picks a free one)")
    add("--unix-socket", help="listen on this unix socket instead of TCP")
    add("--metrics-host", help="metrics host (default 127.0.0.1)")
    add("--metrics-port", type=int, help="metrics port (default 9464; negative: no metrics)")
    add("--tls-cert", type=Path, help="server certificate (PEM)")
    add("--tls-key", type=Path, help="server private key (PEM)")
    add("--tls-client-ca", type=Path, help="CA for client certificates: mutual TLS")
    add("--max-message-bytes", type=int, help="largest request or response")
    add("--grace", type=float, dest="grace_s", help="seconds to finish accepted calls on shutdown")
    add("--max-batch-size", type=int, help="texts per model call")
    add("--max-concurrent-batches", type=int,
        help="model calls computed at once, each on its own thread (default 2)")
    add("--sessions", type=int,
        help="onnxruntime sessions computing a batch's length buckets in parallel, the cores split between "
             "them (default 0: one per core, at most 4; 1: one session)")
    add("--max-wait-ms", type=float, help="how long the batcher gathers a batch while another computes")
    add("--max-queue", type=int, help="queued texts before RESOURCE_EXHAUSTED")


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (its first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """kguard's parser. The verify commands' options load only when `command` names one of them (or is
    None); the rest is argparse only, so building it imports nothing of the sub-commands."""
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
    _add_scan_arguments(scan)
    scan.set_defaults(func=_cmd_scan)

    serve = sub.add_parser("serve", help="run the gRPC sidecar with its metrics endpoint")
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
    prefix = f"kguard {args.command}" if args.command in ("scan", "serve") else "kguard"
    try:
        return int(args.func(args, config_from_args(args)))
    except GuardError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
