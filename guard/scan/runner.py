"""One file scan, start to end: read in chunks, scan in the pool, write, checkpoint, report.

The order of a chunk's end is what makes resuming exact: the chunk's rows are written and the
output fsynced, then the checkpoint (records consumed, input offset, output offset, counters) is
replaced atomically. A kill between the two leaves output past the checkpoint's offset; the resume cuts
it off and scans that chunk again, so no record is written twice or lost. Chunks are formed the same
way whatever the number of workers, so one process and many give the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from guard.errors import InputError
from guard.scan import checkpoint as ckpt
from guard.scan.core import EngineSpec, ScanSettings
from guard.scan.pool import Chunk, scan_chunks, threads_per_worker, to_chunk
from guard.scan.progress import Progress
from guard.scan.readers import Reader, Record, ResumeAt, detect_format, open_reader
from guard.scan.report import ScanStats, build_report
from guard.scan.writers import open_writer

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """A file scan.

    Attributes:
        input: the file to scan.
        output: where the scanned records go (a directory of parts for Parquet).
        report: the JSON report's path; None: `<output>.report.json`.
        format: jsonl, csv, parquet, text, or None to tell by the suffix. Output has the same format.
        settings: fields, role, mask or drop, annotation.
        engine: how each process builds its Guard (its thread count is set here from `workers`).
        workers: processes, each with one engine; 1 scans in this process.
        cores: cores to share among the workers' onnxruntime threads.
        chunk_size: records per chunk: the unit of work, of output commit and of checkpoint.
        resume: continue from the checkpoint beside the output; without one, start from the beginning.
        encoding: the input's text encoding.
        progress: draw progress on stderr.
    """

    input: Path
    output: Path
    report: Path | None = None
    format: str | None = None
    settings: ScanSettings
    engine: EngineSpec = EngineSpec()
    workers: int = 1
    cores: int = 1
    chunk_size: int = 256
    resume: bool = False
    encoding: str = "utf-8"
    progress: bool = True

    @property
    def report_path(self) -> Path:
        return self.report or self.output.with_name(self.output.name + ".report.json")


@dataclass(frozen=True)
class _ChunkMeta:
    """What the parent keeps about a chunk in flight (no text)."""

    items: int
    byte_offset: int | None
    next_number: int


def scan_file(options: ScanOptions) -> dict[str, Any]:
    """Scan `options.input` and return the report (also written to `options.report_path`).

    Raises:
        InputError: the input cannot be opened or is not of its format, an output would overwrite it,
            a field is in no record, or a resume is refused.
        ConfigError: the engine settings cannot work (hash masking without a key, a bad policy file).
    """
    refuse_overwriting_the_input(options)
    fmt = detect_format(options.input, options.format)
    options.engine.check()  # here, before any worker starts: one clear error, not one per worker
    spec = replace(options.engine,
                   intra_op_num_threads=threads_per_worker(options.workers, options.cores))
    reader = open_reader(options.input, fmt, encoding=options.encoding)
    try:
        missing = missing_fields(reader, options.settings.fields)
    finally:
        reader.close()
    if missing:
        # Every record would pass through unscanned, as if it were clean: most likely a misspelling.
        raise InputError(f"no record has the field {', '.join(missing)}: check --field")
    reader = open_reader(options.input, fmt, encoding=options.encoding)
    try:
        return _run(options, fmt, spec, reader)
    finally:
        reader.close()


def refuse_overwriting_the_input(options: ScanOptions) -> None:
    """InputError when the output, the report or the checkpoint is the input itself or a folder that
    holds it (also through a symlink or a hard link): writing it would destroy what is being read."""
    for what, path in (("output", options.output), ("report", options.report_path),
                       ("checkpoint", ckpt.checkpoint_path(options.output))):
        if overwrites(path, options.input):
            raise InputError(f"the {what} {path} would overwrite the input {options.input}: "
                             "write it somewhere else")


def overwrites(path: Path, source: Path) -> bool:
    """True when writing `path` would write over `source`: the same file (by name, symlink or hard
    link) or a folder that holds it (a Parquet output folder is emptied of its old parts)."""
    target, real = path.resolve(), source.resolve()
    if target == real or target in real.parents:
        return True
    try:
        return path.exists() and os.path.samefile(path, source)
    except OSError:
        return False


def missing_fields(reader: Reader, fields: tuple[str, ...]) -> list[str]:
    """The fields no readable record has. CSV and Parquet tell by their columns; JSONL and text are
    read until every field has been seen (usually in the first records), so only a field that is
    truly missing costs a full read. An input without a readable record misses nothing."""
    if reader.columns is not None:
        return [f for f in fields if f not in reader.columns]
    unseen = list(fields)
    readable = False
    for record in reader.records(ResumeAt()):
        if record.data is None:
            continue
        readable = True
        unseen = [f for f in unseen if record.data.get(f) is None]
        if not unseen:
            break
    return unseen if readable else []


def _run(options: ScanOptions, fmt: str, spec: EngineSpec, reader: Reader) -> dict[str, Any]:
    started = time.monotonic()
    fp = ckpt.fingerprint(options.input, _hashed_options(options, fmt))
    ck_path = ckpt.checkpoint_path(options.output)
    # --resume with no checkpoint (a first run, or a scan that finished) starts from the beginning.
    resuming = options.resume and ck_path.exists()
    state = ckpt.load(ck_path, fp) if resuming else ckpt.Checkpoint(fingerprint=fp)
    writer = open_writer(options.output, fmt, state=state.output_state if resuming else None,
                         columns=reader.columns, schema=getattr(reader, "schema", None),
                         annotate=options.settings.annotate)
    stats = ScanStats.from_dict(state.stats)
    progress = Progress(enabled=options.progress)
    if not resuming:
        state = replace(state, output_state=writer.commit())
        ckpt.save(ck_path, state)
    logger.info("scan started: format %s, %d workers, resume from record %d", fmt, options.workers,
                state.items)
    done_here = 0
    try:
        chunks = _chunks(reader.records(state.resume_at()), options.chunk_size, state.items)
        for meta, results in scan_chunks(chunks, spec, options.settings, options.workers):
            writer.write([r.data for r in results if r.data is not None])
            out_state = writer.commit()
            for result in results:
                stats.add(result)
            state = replace(state, items=meta.items, byte_offset=meta.byte_offset,
                            next_number=meta.next_number, output_state=out_state, stats=stats.to_dict())
            ckpt.save(ck_path, state)
            done_here += len(results)
            progress.update(done_here, *reader.progress())
    finally:
        writer.close()
        progress.close()
    elapsed = time.monotonic() - started
    report = build_report(stats, meta=_meta(options, fmt, spec), elapsed_s=elapsed, complete=True)
    report["records_this_run"] = done_here
    write_json(options.report_path, report)
    ck_path.unlink(missing_ok=True)  # done: nothing left to resume
    logger.info("scan finished: %d records, %d flagged", stats.records, stats.flagged)
    return report


def _chunks(records: Iterator[Record], size: int, items_before: int,
            ) -> Iterator[tuple[_ChunkMeta, Chunk]]:
    """Consecutive chunks of `size` records, each with where reading would resume after it."""
    batch: list[Record] = []
    items = items_before
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            items += len(batch)
            yield _meta_of(batch, items), to_chunk(batch)
            batch = []
    if batch:
        items += len(batch)
        yield _meta_of(batch, items), to_chunk(batch)


def _meta_of(batch: list[Record], items: int) -> _ChunkMeta:
    last = batch[-1]
    return _ChunkMeta(items=items, byte_offset=last.end_offset, next_number=last.number + 1)


def _hashed_options(options: ScanOptions, fmt: str) -> dict[str, Any]:
    """The options that change the output; a resume with other values is refused."""
    return {"format": fmt, "settings": asdict(options.settings), "chunk_size": options.chunk_size,
            "encoding": options.encoding, "output": str(options.output.resolve()),
            "engine": options.engine.fingerprint()}


def _meta(options: ScanOptions, fmt: str, spec: EngineSpec) -> dict[str, Any]:
    return {
        "input": str(options.input), "output": str(options.output), "format": fmt,
        "fields": list(options.settings.fields), "role": options.settings.role,
        "mode": "drop" if options.settings.drop else "mask", "masking": spec.masking,
        "model": "detectors-only" if spec.detectors_only else str(spec.config.engine.model_dir),
        "workers": options.workers, "threads_per_worker": spec.intra_op_num_threads,
        "chunk_size": options.chunk_size,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a report atomically (a temporary file renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
