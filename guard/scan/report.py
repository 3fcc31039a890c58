"""The scan report: counters, flags by category and role, examples by record number, never text.

`ScanStats` accumulates RecordResults (it is mutable on purpose: it is the running total, saved in
every checkpoint). `build_report` turns it into the JSON report; `summary` into a few readable lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from guard.scan.core import RecordResult
from guard.taxonomy import CATEGORY_CODES, Category

#: Record numbers kept per category and for errors, so the report stays small for any input size.
MAX_EXAMPLES = 20
MAX_ERROR_EXAMPLES = 100
REPORT_VERSION = 1


@dataclass
class ScanStats:
    """Running totals of a scan."""

    records: int = 0            # records read (good or bad)
    scanned: int = 0            # records with at least one text judged
    flagged: int = 0            # records with at least one flagged category
    written: int = 0
    dropped: int = 0            # flagged records left out (--drop)
    unwritten_errors: int = 0   # records not written because they could not be read or judged
    texts: int = 0              # texts judged (fields and chat messages)
    by_category: Counter[str] = field(default_factory=Counter)                 # records
    by_role: dict[str, Counter[str]] = field(default_factory=dict)            # texts, per role
    errors: Counter[str] = field(default_factory=Counter)                      # per code
    examples: dict[str, list[int]] = field(default_factory=dict)               # category -> numbers
    error_examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: RecordResult) -> None:
        self.records += 1
        self.texts += result.texts
        self.scanned += result.texts > 0
        if result.flagged:
            self.flagged += 1
            for code in result.categories:
                self.by_category[code] += 1
                shown = self.examples.setdefault(code, [])
                if len(shown) < MAX_EXAMPLES:
                    shown.append(result.number)
        for role, code in result.flags:
            self.by_role.setdefault(role, Counter())[code] += 1
        for code, name in result.errors:
            self.errors[code] += 1
            if len(self.error_examples) < MAX_ERROR_EXAMPLES:
                self.error_examples.append({"record": result.number, "code": code, "field": name})
        if result.data is not None:
            self.written += 1
        elif result.flagged and not _blocking(result):
            self.dropped += 1
        else:
            self.unwritten_errors += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records, "scanned": self.scanned, "flagged": self.flagged,
            "written": self.written, "dropped": self.dropped, "unwritten_errors": self.unwritten_errors,
            "texts": self.texts,
            "by_category": _ordered(self.by_category),
            "by_role": {r: _ordered(c) for r, c in sorted(self.by_role.items())},
            "errors": dict(sorted(self.errors.items())),
            "examples": {c: list(self.examples[c]) for c in CATEGORY_CODES if c in self.examples},
            "error_examples": list(self.error_examples),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanStats:
        if not data:
            return cls()
        return cls(
            records=data["records"], scanned=data["scanned"], flagged=data["flagged"],
            written=data["written"], dropped=data["dropped"], unwritten_errors=data["unwritten_errors"],
            texts=data["texts"], by_category=Counter(data["by_category"]),
            by_role={r: Counter(c) for r, c in data["by_role"].items()},
            errors=Counter(data["errors"]), examples={c: list(v) for c, v in data["examples"].items()},
            error_examples=list(data["error_examples"]))


def _blocking(result: RecordResult) -> bool:
    """An error that kept the record out (unreadable, a text that could not be judged, a field that
    is not text); a missing field alone does not: it holds nothing to scan."""
    return any(code != "missing_field" for code, _ in result.errors)


def _ordered(counts: Counter[str]) -> dict[str, int]:
    return {c: counts[c] for c in CATEGORY_CODES if counts.get(c)}


def build_report(stats: ScanStats, *, meta: dict[str, Any], elapsed_s: float, complete: bool,
                 ) -> dict[str, Any]:
    """The JSON report: the scan's settings (`meta`), its totals, and its speed."""
    return {
        "report_version": REPORT_VERSION,
        **meta,
        "complete": complete,
        "elapsed_s": round(elapsed_s, 3),
        "records_per_s": round(stats.records / elapsed_s, 1) if elapsed_s > 0 else None,
        **stats.to_dict(),
    }


def summary(stats: ScanStats) -> str:
    """A few readable lines for the terminal (record numbers and counts only)."""
    pct = 100.0 * stats.flagged / stats.records if stats.records else 0.0
    lines = [f"{stats.records:,} records read, {stats.scanned:,} scanned ({stats.texts:,} texts), "
             f"{stats.flagged:,} flagged ({pct:.1f}%), {stats.written:,} written, "
             f"{stats.dropped:,} dropped, {stats.unwritten_errors:,} not written because of errors"]
    roles = sorted(stats.by_role)
    for code in CATEGORY_CODES:
        if not stats.by_category.get(code):
            continue
        per_role = "  ".join(f"{r} {stats.by_role[r].get(code, 0):,}" for r in roles)
        shown = ", ".join(f"#{n}" for n in stats.examples.get(code, [])[:5])
        lines.append(f"  {code} {Category(code).info.name_en:<34} records {stats.by_category[code]:>8,}"
                     f"  texts: {per_role}  e.g. {shown}")
    if stats.errors:
        lines.append("problems: " + "; ".join(
            f"{code} {count:,} ({_numbers(stats, code)})" for code, count in sorted(stats.errors.items())))
    return "\n".join(lines)


def _numbers(stats: ScanStats, code: str) -> str:
    numbers = [e["record"] for e in stats.error_examples if e["code"] == code][:5]
    return "records " + ", ".join(f"#{n}" for n in numbers) if numbers else "see report"
