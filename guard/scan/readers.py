"""Input readers: JSONL, CSV, Parquet and plain text (one record per line), streamed in bounded memory.

A reader yields `Record`s in file order. A record that cannot be read (a malformed line, bytes that are
not UTF-8, a row group Parquet cannot decode) is still yielded, with `data=None` and an error code, so
it is reported under its number and the rest of the file is still scanned. Record numbers are 1-based:
the line number for JSONL and text, the data row for CSV (header not counted) and Parquet.

Resuming: line formats seek to a byte offset (`Record.end_offset` of the last record done); CSV and
Parquet skip a count of records (Parquet skips whole row groups by their metadata first).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from guard.errors import InputError

FORMATS = ("jsonl", "csv", "parquet", "text")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
             ".parquet": "parquet", ".pq": "parquet", ".txt": "text", ".text": "text"}
#: One line may not be longer than this; a longer one is reported and skipped, never held whole.
MAX_LINE_BYTES = 32 * 1024 * 1024
#: The field plain-text records are put in.
TEXT_FIELD = "text"
_READ_CHUNK = 1024 * 1024
_PARQUET_BATCH_ROWS = 1024

MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
INVALID_UTF8 = "invalid_utf8"
LINE_TOO_LONG = "line_too_long"
MALFORMED_ROW = "malformed_row"
UNREADABLE_ROW_GROUP = "unreadable_row_group"


@dataclass(frozen=True)
class Record:
    """One input record.

    Attributes:
        number: 1-based record number (line number for line formats).
        data: the record's fields, or None when it could not be read.
        error: an error code when it could not be read (or was read with a problem).
        end_offset: for line formats, the input byte offset just after this record.
    """

    number: int
    data: dict[str, Any] | None
    error: str | None = None
    end_offset: int | None = None


@dataclass(frozen=True)
class ResumeAt:
    """Where to start reading again: after `items` records, or at a byte offset (line formats)."""

    items: int = 0
    byte_offset: int | None = None
    next_number: int = 1


class Reader(Protocol):
    """What the scan needs from a reader."""

    format: str

    @property
    def columns(self) -> list[str] | None: ...   # CSV header / Parquet column names; None otherwise

    def records(self, resume: ResumeAt) -> Iterator[Record]: ...
    def progress(self) -> tuple[int, int | None]: ...   # (done, total) in bytes or rows
    def close(self) -> None: ...


def detect_format(path: Path, given: str | None = None) -> str:
    """The format named by `given`, else by the file's suffix; InputError when neither tells."""
    if given and given != "auto":
        if given not in FORMATS:
            raise InputError(f"unknown format {given!r} (expected one of {', '.join(FORMATS)})")
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InputError(f"cannot tell the format of {path.name} from its suffix: pass --format")
    return found


def open_reader(path: Path, fmt: str, *, encoding: str = "utf-8") -> Reader:
    """Open a reader for `path`; InputError if it cannot be opened at all."""
    if fmt == "parquet":
        return ParquetReader(path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror}") from None
    if fmt == "csv":
        return CsvReader(stream, encoding)
    return LineReader(stream, fmt, encoding)


class LineReader:
    """JSONL (one object per line) and plain text (one record per line, in field "text")."""

    columns: list[str] | None = None

    def __init__(self, stream: BinaryIO, fmt: str, encoding: str) -> None:
        self.format = fmt
        self._f = stream
        self._encoding = encoding
        self._total = _size(stream)

    def records(self, resume: ResumeAt) -> Iterator[Record]:
        offset = resume.byte_offset or 0
        self._f.seek(offset)
        number = resume.next_number
        while True:
            raw, too_long = self._line()
            if not raw and not too_long:
                return
            offset += len(raw) if not too_long else too_long
            record = self._parse(number, raw, too_long, offset)
            number += 1
            if record is not None:
                yield record

    def _line(self) -> tuple[bytes, int]:
        """The next line; for an over-long one, (b"", its length) after skipping it."""
        raw = self._f.readline(MAX_LINE_BYTES + 1)
        if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
            return raw, 0
        skipped = len(raw)
        while True:
            part = self._f.readline(_READ_CHUNK)
            skipped += len(part)
            if not part or part.endswith(b"\n"):
                return b"", skipped

    def _parse(self, number: int, raw: bytes, too_long: int, offset: int) -> Record | None:
        if too_long:
            return Record(number, None, LINE_TOO_LONG, offset)
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            line = raw.decode(self._encoding).rstrip("\r\n")
        except UnicodeDecodeError:
            return Record(number, None, INVALID_UTF8, offset)
        if self.format == "text":
            return Record(number, {TEXT_FIELD: line}, None, offset)
        if not line.strip():
            return None  # a blank line in JSONL is no record (its number is still used)
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            return Record(number, None, MALFORMED_JSON, offset)
        if not isinstance(data, dict):
            return Record(number, None, NOT_AN_OBJECT, offset)
        return Record(number, data, None, offset)

    def progress(self) -> tuple[int, int | None]:
        return self._f.tell(), self._total

    def close(self) -> None:
        self._f.close()


class CsvReader:
    """CSV with a header row; every value is a string. Bytes that are not UTF-8 are caught per row."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        self.format = "csv"
        self._raw = stream
        self._total = _size(stream)
        # surrogateescape keeps a bad byte as a lone surrogate, so the row with it is found and
        # reported instead of the whole file failing at the first bad byte.
        self._text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
        csv.field_size_limit(min(sys.maxsize, MAX_LINE_BYTES))
        self._rows = csv.reader(self._text)
        try:
            header = next(self._rows, None)
        except csv.Error:
            raise InputError("the CSV header row cannot be parsed") from None
        if not header:
            raise InputError("the CSV file has no header row")
        if _has_surrogate(header):
            raise InputError("the CSV header row is not valid in the given encoding")
        self.columns: list[str] | None = header

    def records(self, resume: ResumeAt) -> Iterator[Record]:
        number = 0
        while True:
            number += 1
            try:
                row = next(self._rows)
            except StopIteration:
                return
            except csv.Error:
                if number > resume.items:
                    yield Record(number, None, MALFORMED_ROW)
                continue
            if number <= resume.items:
                continue
            yield self._record(number, row)

    def _record(self, number: int, row: list[str]) -> Record:
        assert self.columns is not None
        if len(row) != len(self.columns):
            return Record(number, None, MALFORMED_ROW)
        if _has_surrogate(row):
            return Record(number, None, INVALID_UTF8)
        return Record(number, dict(zip(self.columns, row, strict=True)))

    def progress(self) -> tuple[int, int | None]:
        return self._raw.tell(), self._total

    def close(self) -> None:
        self._text.close()


class ParquetReader:
    """Parquet, row group by row group, in record batches; page checksums verified when present."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq  # the scan extra; imported only when Parquet is read

        self.format = "parquet"
        try:
            self._file = pq.ParquetFile(path, page_checksum_verification=True)
        except FileNotFoundError:
            raise InputError(f"cannot open {path}: no such file") from None
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad footer
            raise InputError(f"{path.name} is not a readable Parquet file ({type(exc).__name__})") from None
        self.schema = self._file.schema_arrow
        self.columns: list[str] | None = list(self.schema.names)
        self._done = 0
        self._total = self._file.metadata.num_rows

    def records(self, resume: ResumeAt) -> Iterator[Record]:
        first = 1
        for group in range(self._file.num_row_groups):
            rows = self._file.metadata.row_group(group).num_rows
            if first + rows - 1 <= resume.items:  # the whole group is done: skip it unread
                first += rows
                self._done = first - 1
                continue
            yield from self._group(group, first, rows, resume.items)
            first += rows

    def _group(self, group: int, first: int, rows: int, skip_through: int) -> Iterator[Record]:
        number = first
        try:
            for batch in self._file.iter_batches(batch_size=_PARQUET_BATCH_ROWS, row_groups=[group]):
                for data in batch.to_pylist():
                    if number > skip_through:
                        yield Record(number, data)
                    number += 1
                    self._done = number - 1
        except Exception:  # noqa: BLE001 - corrupt pages raise OSError or ArrowInvalid; report, go on
            for bad in range(max(number, skip_through + 1), first + rows):
                self._done = bad
                yield Record(bad, None, UNREADABLE_ROW_GROUP)

    def progress(self) -> tuple[int, int | None]:
        return self._done, self._total

    def close(self) -> None:
        self._file.close()


def _size(stream: BinaryIO) -> int | None:
    try:
        return stream.seek(0, io.SEEK_END)
    except OSError:
        return None
    finally:
        stream.seek(0)


def _has_surrogate(values: list[str]) -> bool:
    """True when a value holds a lone surrogate, i.e. a byte that did not decode."""
    for value in values:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False
