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

import logging
import sys
from concurrent.futures.process import BrokenProcessPool

from guard.errors import GuardError
from guard.scan.checkpoint import checkpoint_path
from guard.scan.core import EngineSpec, RecordResult, RecordScanner, ScanSettings
from guard.scan.report import ScanStats, summary
from guard.scan.runner import ScanOptions, overwrites, scan_file, write_json

__all__ = ["EngineSpec", "RecordResult", "RecordScanner", "ScanOptions", "ScanSettings", "run_scan",
           "scan_file"]

logger = logging.getLogger(__name__)
EXIT_CLEAN, EXIT_FLAGGED, EXIT_ERROR = 0, 1, 2


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
