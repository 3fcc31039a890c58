"""A small progress display on stderr: records, records/s and ETA; one redrawn line on a terminal,
a plain line every few seconds otherwise (CI logs). Only counts are shown, never text."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_TTY_EVERY_S = 0.2
_LOG_EVERY_S = 10.0


class Progress:
    """Shows how far a scan is. `total` and `done_units` are in the reader's unit (bytes or rows).

    Args:
        stream: where to draw (stderr by default).
        enabled: False shows nothing (--no-progress).
    """

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self._out = stream or sys.stderr
        self._enabled = enabled
        self._tty = bool(getattr(self._out, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._last = 0.0
        self._first_units: int | None = None

    def update(self, records: int, done_units: int, total_units: int | None, *, force: bool = False,
               ) -> None:
        """Redraw if enough time passed; `records` counts records done in this run."""
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < (_TTY_EVERY_S if self._tty else _LOG_EVERY_S):
            return
        self._last = now
        if self._first_units is None:  # a resumed scan starts part-way: ETA from this run's pace only
            self._first_units = done_units
        self._draw(self._line(records, done_units, total_units, now - self._start))

    def _line(self, records: int, done: int, total: int | None, elapsed: float) -> str:
        rate = records / elapsed if elapsed > 0 else 0.0
        text = f"kguard scan: {records:,} records  {rate:,.0f} rec/s"
        if total:
            pct = min(100.0, 100.0 * done / total)
            start = self._first_units or 0
            pace = (done - start) / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / pace if pace > 0 else None
            text += f"  {pct:5.1f}%  ETA {_clock(eta)}"
        return text

    def _draw(self, line: str) -> None:
        if self._tty:
            self._out.write("\r" + line.ljust(78))
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def close(self) -> None:
        if self._enabled and self._tty:
            self._out.write("\n")
            self._out.flush()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
