"""Labelled rows for `kguard eval`, `kguard calibrate` and `kguard redteam --seeds`: JSONL or CSV.

One row per text, with these fields (LABELLING.md gives the rules behind every label):

    id          optional; a row is named by it in every report (default "row-N", N its 1-based number)
    text        the text judged
    role        "user" (default) or "assistant"
    context     optional: for an assistant row, the prompt before it
    labels      the category codes (or ids) that apply; empty or missing means safe. JSONL: a list;
                CSV: codes separated by commas, spaces or "|"
    spans       optional: [[start, end, "TYPE"], ...] or [{"start", "end", "type"}, ...], character
                offsets into `text`; CSV: the same as a JSON string
    translation optional: an English rendering, used by the redteam `translation` transform

A row that cannot be read raises InputError naming its number and field, never its text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.errors import InputError
from guard.taxonomy import CATEGORY_CODES, SpanType, parse_category, parse_role

__all__ = ["Row", "load_rows", "parse_rows"]

#: A labelled file larger than this is refused: evaluation keeps every row in memory.
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One labelled text. `labels` are canonical codes in taxonomy order; `spans` (start, end, type)."""

    id: str
    text: str
    role: str = "user"
    context: str = ""
    labels: tuple[str, ...] = ()
    spans: tuple[tuple[int, int, str], ...] = ()
    translation: str = ""

    @property
    def safe(self) -> bool:
        return not self.labels


def load_rows(path: Path, *, encoding: str = "utf-8") -> list[Row]:
    """Rows of a .jsonl/.ndjson/.json (one object per line) or .csv file, in file order."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".json", ".csv"):
        raise InputError(f"cannot tell the format of {path.name}: use a .jsonl or .csv file")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        raw = path.read_bytes().decode(encoding)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not valid {encoding}") from None
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None
    records = _csv_records(raw) if suffix == ".csv" else _jsonl_records(raw)
    rows = parse_rows(records)
    if not rows:
        raise InputError(f"{path.name} has no rows")
    return rows


def parse_rows(records: Iterable[tuple[int, Mapping[str, Any]]]) -> list[Row]:
    """Rows from (1-based number, fields) pairs; ids must be unique."""
    rows: list[Row] = []
    seen: set[str] = set()
    for number, record in records:
        row = _row(number, record)
        if row.id in seen:
            raise InputError(f"row {number}: id {row.id!r} is used twice" if _plain_id(row.id)
                             else f"row {number}: its id is used twice")
        seen.add(row.id)
        rows.append(row)
    return rows


def _jsonl_records(raw: str) -> Iterable[tuple[int, Mapping[str, Any]]]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"row {number}: not valid JSON (column {exc.colno})") from None
        if not isinstance(record, dict):
            raise InputError(f"row {number}: not a JSON object")
        yield number, record


def _csv_records(raw: str) -> Iterable[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    if not reader.fieldnames or "text" not in reader.fieldnames:
        raise InputError("the CSV header has no 'text' column")
    try:
        for number, record in enumerate(reader, start=1):
            if None in record:
                raise InputError(f"row {number}: more values than header columns")
            yield number, record
    except csv.Error:
        raise InputError("the CSV file is malformed") from None


def _row(number: int, r: Mapping[str, Any]) -> Row:
    text = r.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"row {number}: 'text' must be a non-empty string")
    raw_id = r.get("id")
    row_id = f"row-{number}" if raw_id in (None, "") else str(raw_id)
    try:
        role = parse_role(str(r.get("role") or "user")).value
        labels = _labels(r.get("labels"))
        spans = _spans(r.get("spans"), len(text))
    except InputError as exc:
        raise InputError(f"row {number}: {exc}") from None
    context = r.get("context") or ""
    translation = r.get("translation") or ""
    if not isinstance(context, str) or not isinstance(translation, str):
        raise InputError(f"row {number}: 'context' and 'translation' must be strings")
    return Row(row_id, text, role, context, labels, spans, translation)


def _labels(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.replace("|", ",").replace(" ", ",").split(",")
    elif isinstance(value, list):
        items = value
    else:
        raise InputError("'labels' must be a list of category codes")
    codes = {parse_category(str(v)).value for v in items if str(v).strip()}
    return tuple(c for c in CATEGORY_CODES if c in codes)


def _spans(value: Any, length: int) -> tuple[tuple[int, int, str], ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError("'spans' is not valid JSON") from None
    if not isinstance(value, list):
        raise InputError("'spans' must be a list")
    out = []
    for item in value:
        if isinstance(item, Mapping):
            item = [item.get("start"), item.get("end"), item.get("type")]
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise InputError("each span must be [start, end, type]")
        start, end, kind = item
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= length):
            raise InputError("a span's offsets must be integers with 0 <= start < end <= len(text)")
        if str(kind).upper() not in _SPAN_TYPES:
            raise InputError(f"unknown span type (expected one of {', '.join(sorted(_SPAN_TYPES))})")
        out.append((start, end, str(kind).upper()))
    return tuple(sorted(out))


def _plain_id(value: str) -> bool:
    """An id short and plain enough to repeat in a message (ids are the user's names for rows)."""
    return len(value) <= 64 and value.isascii() and value.replace("-", "").replace("_", "").replace(
        ":", "").replace(".", "").isalnum()


_SPAN_TYPES = frozenset(t.value for t in SpanType)
