"""`kguard scan`: scrub a JSONL, CSV, Parquet or text file before it trains or feeds a model.

guard/cli.py calls `add_scan_arguments` for the `scan` sub-command and `run_scan` to run it; the
same runs as `python -m guard.scan`. The work is in `runner.scan_file` (files), `pool` (processes),
`core.RecordScanner` (records; shared with guard.integrations for `datasets` and Ray Data).

Exit codes: 0 clean (nothing flagged, every record scanned), 1 something flagged and handled (masked
or dropped), 2 an error: the scan could not run (a field no record has, an output that would overwrite
the input, hash masking without a key: its reason on stderr and in the report), or some records could
not be read or judged (they are not written; the report names them by number). Nothing unscanned is
ever written as clean.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from guard.errors import GuardError
from guard.masking import MaskOperator
from guard.scan.checkpoint import checkpoint_path
from guard.scan.core import EngineSpec, RecordResult, RecordScanner, ScanSettings
from guard.scan.readers import FORMATS, TEXT_FIELD
from guard.scan.report import ScanStats, summary
from guard.scan.runner import ScanOptions, overwrites, scan_file, write_json

__all__ = ["EngineSpec", "RecordResult", "RecordScanner", "ScanOptions", "ScanSettings",
           "add_scan_arguments", "run_scan", "scan_file"]

logger = logging.getLogger(__name__)
EXIT_CLEAN, EXIT_FLAGGED, EXIT_ERROR = 0, 1, 2
PSEUDONYMIZE = "pseudonymize"


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `kguard scan`'s arguments to `parser`."""
    parser.add_argument("input", type=Path, help="the file to scan")
    parser.add_argument("-o", "--output", type=Path,
                        help="the scanned records (same format as the input; a directory for Parquet); "
                             "required except for a --reid-report alone")
    parser.add_argument("--format", choices=("auto", *FORMATS), default="auto",
                        help="input format (default: from the file's suffix)")
    parser.add_argument("-f", "--field", action="append", dest="fields", metavar="NAME",
                        help="a field to scan (repeat or comma-separate); a field may hold a string, a "
                             "list of strings or a chat [{role, content}, ...] (text format: 'text')")
    parser.add_argument("--role", choices=("user", "assistant"), default="user",
                        help="role of plain string fields (chat messages carry their own)")
    parser.add_argument("--drop", action="store_true",
                        help="leave flagged records out instead of writing them masked")
    parser.add_argument("--masking", choices=[*(m.value for m in MaskOperator), PSEUDONYMIZE], default="placeholder",
                        help="how spans are masked (default placeholder: no digit of an identifier kept); "
                             "pseudonymize: consistent pseudonyms, reversible with --vault and its key")
    parser.add_argument("--vault", type=Path, metavar="FILE",
                        help="with --masking pseudonymize: the encrypted vault file (extended if it exists)")
    parser.add_argument("--vault-key-file", type=Path, metavar="FILE",
                        help="the vault key (at least 16 bytes; default: the KGUARD_VAULT_KEY variable)")
    parser.add_argument("--reid-report", type=Path, metavar="FILE",
                        help="write the re-identification risk of the input: quasi-identifiers, k-anonymity, "
                             "l-diversity, a generalization reaching k (records by number only)")
    parser.add_argument("--reid-fields", metavar="NAMES",
                        help="fields of the equivalence classes: quasi-identifier types (birth_date, birth_year, "
                             "age, gender, region, school, workplace, job_title, event_date) or record "
                             "columns, comma-separated (default: the types found)")
    parser.add_argument("--reid-k", type=int, default=5, help="the k to reach (default 5)")
    parser.add_argument("--reid-l", type=int, default=2, help="the l to reach (default 2)")
    parser.add_argument("--reid-sensitive", metavar="NAME",
                        help="the sensitive column for l-diversity (default: the flagged S1-S9 categories)")
    parser.add_argument("--annotate", metavar="NAME",
                        help="add a field NAME with each record's flagged category codes")
    parser.add_argument("--report", type=Path, help="JSON report path (default: <output>.report.json)")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes, one engine each (default: one per core)")
    parser.add_argument("--chunk-size", type=int, default=256,
                        help="records per chunk: unit of work, output commit and checkpoint")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted scan (with nothing to resume, start from the beginning)")
    parser.add_argument("--encoding", default="utf-8", help="input text encoding (e.g. cp949)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument("--max-text-chars", type=int, default=200_000,
                        help="longer texts are reported and their record is not written")
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped model)")
    parser.add_argument("--no-model", action="store_true", help="validated detectors only, no model")
    parser.add_argument("--policy", type=Path, help="policy file (TOML)")


def options_from_args(args: argparse.Namespace) -> ScanOptions:
    """ScanOptions from parsed arguments (the model folder defaults to KGUARD_ENGINE_MODEL_DIR)."""
    from guard.config import from_env

    fmt = None if args.format == "auto" else args.format
    fields = tuple(f.strip() for raw in (args.fields or []) for f in raw.split(",") if f.strip())
    if not fields:
        if fmt != "text" and args.input.suffix.lower() not in (".txt", ".text"):
            raise GuardError("name the field(s) to scan with --field")
        fields = (TEXT_FIELD,)
    if args.chunk_size < 1 or args.workers < 0:
        raise GuardError("--chunk-size must be at least 1 and --workers at least 0")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    env = from_env()
    model = args.model or (None if args.no_model else env.engine.model_dir)
    return ScanOptions(
        input=args.input, output=args.output, report=args.report, format=fmt,
        settings=ScanSettings(fields=fields, role=args.role, drop=args.drop, annotate=args.annotate),
        engine=EngineSpec(model_dir=str(model) if model else None, detectors_only=args.no_model,
                          policy_file=str(args.policy) if args.policy else None,
                          max_text_chars=args.max_text_chars, masking=args.masking,
                          hmac_key_file=str(env.hmac_key_file) if env.hmac_key_file else None),
        workers=args.workers or cores, cores=cores, chunk_size=args.chunk_size, resume=args.resume,
        encoding=args.encoding, progress=not args.no_progress)


def run_scan(args: argparse.Namespace) -> int:
    """Run `kguard scan`; print a summary on stderr; return the exit code."""
    if args.masking == PSEUDONYMIZE or args.reid_report or args.vault:
        return _run_pseudo(args)
    if args.output is None:
        print("kguard scan: error: name the output with -o", file=sys.stderr)
        return EXIT_ERROR
    try:
        options = options_from_args(args)
    except GuardError as exc:
        print(f"kguard scan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if options.resume and not checkpoint_path(options.output).exists():
        print("kguard scan: nothing to resume; starting from the first record", file=sys.stderr)
    try:
        report = scan_file(options)
    except GuardError as exc:
        _failed(options, str(exc))
        return EXIT_ERROR
    except BrokenProcessPool:
        _failed(options, "a worker process died (out of memory?); continue with --resume")
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kguard scan: interrupted; continue with --resume", file=sys.stderr)
        return EXIT_ERROR
    stats = ScanStats.from_dict(report)
    print(summary(stats), file=sys.stderr)
    print(f"report: {options.report_path}", file=sys.stderr)
    return _exit_code(stats)


def _exit_code(stats: ScanStats) -> int:
    """2 when records were left out because they could not be read or judged (an error to look at,
    not a finding), else 1 when something was flagged (and masked or dropped), else 0."""
    if stats.unwritten_errors:
        print(f"kguard scan: error: {stats.unwritten_errors:,} records could not be read or judged and "
              "are not in the output (the report lists them by number)", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FLAGGED if stats.flagged else EXIT_CLEAN


def _failed(options: ScanOptions, reason: str) -> None:
    """Say why the scan could not run, on stderr and in the report (our message: names, no text)."""
    print(f"kguard scan: error: {reason}", file=sys.stderr)
    if overwrites(options.report_path, options.input):
        return  # the report's path is the input itself: never write there
    try:
        write_json(options.report_path, {"report_version": 1, "input": str(options.input),
                                         "complete": False, "error": reason})
    except OSError as exc:
        logger.warning("could not write the report: %s", exc.strerror)


def _run_pseudo(args: argparse.Namespace) -> int:
    """`--masking pseudonymize --vault FILE` and/or `--reid-report FILE` (guard.scan.pseudo)."""
    from guard.scan.pseudo import pseudonymize_file, reid_file
    from guard.vault import load_vault_key

    pseudonymize = args.masking == PSEUDONYMIZE
    try:
        if pseudonymize and (args.vault is None or args.output is None):
            raise GuardError("--masking pseudonymize needs -o and --vault FILE")
        if args.vault is not None and not pseudonymize:
            raise GuardError("--vault goes with --masking pseudonymize")
        if args.drop and pseudonymize:
            raise GuardError("--drop and --masking pseudonymize do not go together")
        if args.output is not None and not pseudonymize:
            raise GuardError("with --reid-report, -o goes with --masking pseudonymize only")
        key = load_vault_key(args.vault_key_file, required=True) if pseudonymize else None
        masking, output = args.masking, args.output
        args.masking, args.output = "placeholder", output or args.input.with_name(args.input.name + ".reid")
        try:
            options = options_from_args(args)
        finally:
            args.masking, args.output = masking, output
        code = EXIT_CLEAN
        if pseudonymize:
            assert key is not None
            report = pseudonymize_file(options, args.vault, key)
            print(f"kguard scan: {report['records']:,} records, {report['flagged']:,} flagged, "
                  f"{report['replaced']:,} spans pseudonymized; vault: {args.vault}", file=sys.stderr)
            code = EXIT_ERROR if report["errors"] else EXIT_FLAGGED if report["flagged"] else EXIT_CLEAN
        if args.reid_report:
            fields = tuple(f.strip() for f in (args.reid_fields or "").split(",") if f.strip())
            # after pseudonymizing, the risk that matters is the output's: what will be released
            source = dataclasses.replace(options, input=args.output) if pseudonymize else options
            reid = reid_file(source, args.reid_report, fields=fields, k=args.reid_k, l_min=args.reid_l,
                             sensitive=args.reid_sensitive)
            print(f"kguard scan: k = {reid['k']}, l = {reid['l']} over {', '.join(reid['fields']) or 'nothing'}; "
                  f"{reid['records_below_k']:,} records in classes below k; report: {args.reid_report}",
                  file=sys.stderr)
            if code == EXIT_CLEAN and (reid["k"] < args.reid_k or reid["l"] < args.reid_l):
                code = EXIT_FLAGGED
        return code
    except GuardError as exc:
        print(f"kguard scan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
