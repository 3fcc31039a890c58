"""`kguard eval FILE --out DIR`: the guard on the user's labelled rows; DIR/report.json and report.html.

The report names rows by id. Texts appear in it only with --show-text (the worst errors then carry
theirs), and nothing is ever logged: progress goes to stderr as counts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.sdk import Guard
from guard.verify.dataset import load_rows
from guard.verify.metrics import summary
from guard.verify.output import model_summary, prepare_out_dir, write_json, write_text
from guard.verify.scoring import Scored, score_rows

__all__ = ["EvalOptions", "evaluate_file", "report"]

REPORT_VERSION = 1


@dataclass(frozen=True)
class EvalOptions:
    input: Path
    out: Path
    policy: Path | None = None
    show_text: bool = False
    worst: int = 20
    html: bool = True
    encoding: str = "utf-8"


def report(scored: Scored, options: EvalOptions, guard: Guard, rows_read: int) -> dict[str, Any]:
    """report.json's content."""
    figures = summary(scored, worst=options.worst)
    if options.show_text:
        texts = {r.id: r.text for r in scored.rows}
        for entry in figures["worst_errors"]:
            entry["text"] = texts[entry["id"]]
    return {
        "report_version": REPORT_VERSION,
        "command": "eval",
        "input": str(options.input),
        "rows": rows_read,
        "errors": [{"id": i, "error": kind, "message": message} for i, kind, message in scored.errors],
        "model": model_summary(guard),
        "policy": str(options.policy) if options.policy else "default",
        "thresholds": scored.thresholds,
        "show_text": options.show_text,
        **figures,
    }


def evaluate_file(options: EvalOptions, make_guard: Callable[[], Guard]) -> dict[str, Any]:
    """Read, judge, write DIR/report.json (and report.html); return the report."""
    if options.html:
        from guard.verify.html import require_plotting

        require_plotting()  # before the slow part: say what to install first
    prepare_out_dir(options.out, ("report.json", "report.html"), (options.input, options.policy))
    rows = load_rows(options.input, encoding=options.encoding)
    guard = make_guard()
    scored = score_rows(guard, rows, progress=_progress)
    print(file=sys.stderr)
    data = report(scored, options, guard, len(rows))
    write_json(options.out / "report.json", data)
    if options.html:
        from guard.verify.html import render_html

        write_text(options.out / "report.html", render_html(data, scored))
    return data


def _progress(done: int, total: int) -> None:
    print(f"\rjudged {done:,} of {total:,} rows", end="", file=sys.stderr, flush=True)
