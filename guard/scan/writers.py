"""Output writers that commit in chunks, so a resumed scan writes no record twice and loses none.

Each writer appends a chunk of rows and `commit()`s it: the bytes are flushed and fsynced, and the
returned state (a byte offset for line formats and CSV, a count of part files for Parquet) is what the
checkpoint records. On resume the writer cuts the output back to that state: a line file is truncated
to the byte offset (a half-written chunk after it disappears); Parquet parts past the count are deleted.
Parquet output is a directory of `part-NNNNNN.parquet` files, because a Parquet file cannot be appended
to once its footer is written.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from guard.errors import InputError
from guard.scan.readers import TEXT_FIELD


class Writer(Protocol):
    """What the scan needs from a writer."""

    def write(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def commit(self) -> int: ...
    def close(self) -> None: ...


def open_writer(path: Path, fmt: str, *, state: int | None, columns: list[str] | None = None,
                schema: Any = None, annotate: str | None = None) -> Writer:
    """A writer for `fmt` at `path`; `state` None starts afresh, else cuts back to a committed state."""
    if fmt == "parquet":
        return ParquetPartsWriter(path, state, schema, annotate)
    if fmt == "csv":
        header = list(columns or [])
        if annotate and annotate not in header:
            header.append(annotate)
        return CsvWriter(path, state, header)
    if fmt == "text" and annotate:
        raise InputError("plain text output cannot carry an annotation field: write JSONL instead")
    return LineWriter(path, state, fmt)


def _open_bytes(path: Path, state: int | None) -> BinaryIO:
    """Open for writing: truncated to nothing (fresh) or to the committed byte offset (resume)."""
    if state is None:
        return path.open("wb")
    try:
        f = path.open("r+b")
    except FileNotFoundError:
        raise InputError(f"cannot resume: the output {path.name} is gone; start over") from None
    if f.seek(0, io.SEEK_END) < state:
        f.close()
        raise InputError(f"cannot resume: the output {path.name} is shorter than the checkpoint says")
    f.truncate(state)
    f.seek(state)
    return f


class LineWriter:
    """JSONL (one object per line, UTF-8, not ASCII-escaped) or plain text (field "text", one a line)."""

    def __init__(self, path: Path, state: int | None, fmt: str) -> None:
        self._f = _open_bytes(path, state)
        self._text = fmt == "text"

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if self._text:
            lines = [str(r.get(TEXT_FIELD, "")) for r in rows]
        else:
            lines = [json.dumps(r, ensure_ascii=False, default=_jsonable) for r in rows]
        if lines:
            self._f.write(("\n".join(lines) + "\n").encode("utf-8"))

    def commit(self) -> int:
        return _durable(self._f)

    def close(self) -> None:
        self._f.close()


class CsvWriter:
    """CSV with the input's header (plus the annotation column); lists are joined with ';'."""

    def __init__(self, path: Path, state: int | None, header: list[str]) -> None:
        self._f = _open_bytes(path, state)
        self._header = header
        if state is None:
            self._rows([header])
            self.commit()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self._rows([[_cell(r.get(name)) for name in self._header] for r in rows])

    def _rows(self, rows: list[list[str]]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        self._f.write(buf.getvalue().encode("utf-8"))

    def commit(self) -> int:
        return _durable(self._f)

    def close(self) -> None:
        self._f.close()


class ParquetPartsWriter:
    """A directory of Parquet part files, one per committed chunk, with the input's schema."""

    def __init__(self, path: Path, state: int | None, schema: Any, annotate: str | None) -> None:
        import pyarrow as pa  # the scan extra

        self._pa = pa
        self._dir = path
        self._dir.mkdir(parents=True, exist_ok=True)
        if schema is not None and annotate and annotate not in schema.names:
            schema = schema.append(pa.field(annotate, pa.list_(pa.string())))
        self._schema = schema
        self._parts = state or 0
        self._rows: list[dict[str, Any]] = []
        for old in self._dir.iterdir():  # a fresh start or a resume: drop uncommitted parts
            if old.name.endswith(".tmp") or (old.name.startswith("part-") and _part_no(old) >= self._parts):
                old.unlink()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self._rows.extend(rows)

    def commit(self) -> int:
        if not self._rows:
            return self._parts
        import pyarrow.parquet as pq

        table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
        final = self._dir / f"part-{self._parts:06d}.parquet"
        tmp = final.with_name(final.name + ".tmp")
        with tmp.open("wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        _fsync_dir(self._dir)
        self._rows = []
        self._parts += 1
        return self._parts

    def close(self) -> None:
        self._rows = []


def _durable(f: BinaryIO) -> int:
    f.flush()
    os.fsync(f.fileno())
    return f.tell()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _part_no(path: Path) -> int:
    try:
        return int(path.name.split("-", 1)[1].split(".", 1)[0])
    except (IndexError, ValueError):
        return -1


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def _jsonable(value: Any) -> Any:
    """Values JSON has no type for (from Parquet: dates, bytes, decimals) become strings."""
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
