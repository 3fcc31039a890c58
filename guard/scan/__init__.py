"""`kguard scan`: scrub a JSONL, CSV, Parquet or text file before it trains or feeds a model.

guard/cli.py reads the command line and the environment into ScanOptions (its EngineSpec carries the
command's one GuardConfig) and calls `run_scan`. The work is in `runner.scan_file` (files), `pool` (processes),
`core.RecordScanner` (records; shared with guard.integrations for `datasets` and Ray Data).

Exit codes: 0 clean (nothing flagged, every record scanned), 1 something flagged and handled (masked
or dropped), 2 an error: the scan could not run (a field no record has, an output that would overwrite
the input, hash masking without a key: its reason on stderr and in the report), or some records could
not be read or judged (they are not written; the report names them by number). Nothing unscanned is
ever written as clean.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from guard.errors import GuardError
from guard.scan.checkpoint import checkpoint_path
from guard.scan.core import EngineSpec, RecordResult, RecordScanner, ScanSettings
from guard.scan.report import ScanStats, summary
from guard.scan.runner import ScanOptions, overwrites, scan_file, write_json

__all__ = ["EngineSpec", "RecordResult", "RecordScanner", "ScanOptions", "ScanSettings", "run_pseudo",
           "run_scan", "scan_file"]

logger = logging.getLogger(__name__)
EXIT_CLEAN, EXIT_FLAGGED, EXIT_ERROR = 0, 1, 2
PSEUDONYMIZE = "pseudonymize"


def run_scan(options: ScanOptions) -> int:
    """Run `kguard scan` with the options guard/cli.py resolved; print a summary on stderr; return the
    exit code."""
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


def run_pseudo(args: Any, options_from_args: Callable[[Any], ScanOptions]) -> int:
    """`--masking pseudonymize --vault FILE` and/or `--reid-report FILE` (guard.scan.pseudo); cli.py parses
    the arguments and turns them into ScanOptions with `options_from_args`."""
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
