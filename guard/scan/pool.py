"""Chunks of records through one engine per process, results back in input order, memory bounded.

Each worker process builds ONE Guard (so one onnxruntime session) in its initializer, with
`intra_op_num_threads` chosen by the caller so processes x threads does not exceed the cores. The
parent keeps at most `workers * 2` chunks in flight and yields results in submission order, so the
output is written in input order and the reader never runs ahead of the engines. With one worker the
chunks are scanned in this process: no pool, same code, same results.

Workers are started with "spawn": forking a parent that already runs threads (a progress bar, Ray,
pytest plugins) can deadlock, and onnxruntime sessions are not fork-safe.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from guard.errors import GuardError
from guard.scan.core import EngineSpec, RecordResult, RecordScanner, ScanSettings
from guard.scan.readers import Record

logger = logging.getLogger(__name__)

Meta = TypeVar("Meta")
#: What crosses to a worker: (number, data, read error) per record. No Record objects, no offsets.
Chunk = list[tuple[int, dict[str, Any] | None, str | None]]

_scanner: RecordScanner | None = None  # the worker's one scanner (one engine per process)
_init_error: GuardError | None = None  # why it could not be built (a missing model, ...)


def _init_worker(spec: EngineSpec, settings: ScanSettings) -> None:
    global _scanner, _init_error
    try:
        _scanner = RecordScanner(spec.build(), settings)
    except GuardError as exc:
        # Raised again with the first chunk, so the parent reports it in one line; an initializer
        # that raises would instead print a traceback and break the pool ("a worker process died").
        _init_error = exc


def _scan_chunk(chunk: Chunk) -> list[RecordResult]:
    if _init_error is not None:
        raise _init_error
    assert _scanner is not None, "worker used before its initializer ran"
    return _scanner.scan(chunk)


def to_chunk(records: Iterable[Record]) -> Chunk:
    return [(r.number, r.data, r.error) for r in records]


def threads_per_worker(workers: int, cores: int) -> int:
    """onnxruntime threads per process so that workers x threads fills, not exceeds, the cores."""
    return max(1, cores // max(1, workers))


def scan_chunks(chunks: Iterator[tuple[Meta, Chunk]], spec: EngineSpec, settings: ScanSettings,
                workers: int) -> Iterator[tuple[Meta, list[RecordResult]]]:
    """Scan chunks, yielding (meta, results) in the order the chunks came.

    Args:
        chunks: (meta, chunk) pairs; `meta` stays in this process (offsets, counts for the checkpoint).
        spec: how each process builds its Guard.
        settings: what to scan and how to mask.
        workers: processes; 1 scans here, without a pool.
    """
    if workers <= 1:
        scanner = RecordScanner(spec.build(), settings)
        for meta, chunk in chunks:
            yield meta, scanner.scan(chunk)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(spec, settings)) as pool:
        logger.info("scan pool started: %d processes, %d onnxruntime threads each",
                    workers, spec.intra_op_num_threads)
        inflight: deque[tuple[Meta, Future[list[RecordResult]]]] = deque()
        try:
            for meta, chunk in chunks:
                inflight.append((meta, pool.submit(_scan_chunk, chunk)))
                if len(inflight) >= workers * 2:
                    done_meta, future = inflight.popleft()
                    yield done_meta, future.result()
            while inflight:
                done_meta, future = inflight.popleft()
                yield done_meta, future.result()
        finally:
            for _, future in inflight:  # stopped early (error, interrupt): do not wait for them
                future.cancel()
