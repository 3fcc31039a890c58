"""The onnxruntime sessions of one OnnxEngine, and the cores their runs may use.

With one session (EngineConfig.sessions = 1) every run goes to it, from any number of threads at once
(onnxruntime's `InferenceSession.run` is thread-safe): the layout before pools.
With a pool (sessions > 1) a call's chunks run in parallel, one per session, each session on its share
of the cores: on a few cores an encoder run on a bucket of short texts is too small to split well across
threads, so two chunks at once on one thread each beat each chunk on two threads (bench/threads.py).
A call that is a single chunk (one message) takes the `solo` session, which runs on all cores, when no
pool session is busy and no other call is in the engine: one message alone is fastest on all cores, but
two callers of one message each are faster on a pool session each than taking turns on the solo one
(bench/threads.py: 1.49x).

The free pool sessions are the core budget. A chunk holds one session while it runs; the solo run holds
them all, takes them only when all are free and never waits while holding some, so nothing deadlocks,
and however many threads call at once (the batcher's concurrent batches, the long-text lane), no more
runs compute at once than the pool has sessions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from guard.engine.runtime import ort

_T = TypeVar("_T")
_R = TypeVar("_R")


class SessionPool:
    """Sessions of one model, handed out one per run.

    Args:
        sessions: the pool: one session, or several that compute chunks in parallel.
        solo: a session on all cores for a lone run while the pool is idle (None: none).
    """

    def __init__(self, sessions: Sequence[ort.InferenceSession], solo: ort.InferenceSession | None = None,
                 ) -> None:
        if not sessions:
            raise ValueError("a session pool needs at least one session")
        self.sessions = tuple(sessions)
        self.solo = solo
        self._free = list(self.sessions)
        self._calls = 0  # engine calls in progress, from tokenizing to merging (see `calling`)
        self._changed = threading.Condition()
        self._executor = (ThreadPoolExecutor(max_workers=len(self.sessions), thread_name_prefix="guard-session")
                          if len(self.sessions) > 1 else None)

    @property
    def size(self) -> int:
        """Runs computed at once at most (1: one session shared by every caller)."""
        return len(self.sessions)

    def all(self) -> tuple[ort.InferenceSession, ...]:
        """Every session, the solo one last (for a tiny run on each, e.g. giving memory back)."""
        return self.sessions if self.solo is None else (*self.sessions, self.solo)

    @contextmanager
    def one(self) -> Iterator[ort.InferenceSession]:
        """A pool session for one run, waiting for a free one (with one session: that one, shared)."""
        if self._executor is None:
            yield self.sessions[0]
            return
        with self._changed:
            while not self._free:
                self._changed.wait()
            session = self._free.pop()  # the one freed last: its memory is the warmest
        try:
            yield session
        finally:
            with self._changed:
                self._free.append(session)
                self._changed.notify()

    @contextmanager
    def calling(self) -> Iterator[None]:
        """Marks one engine call in progress: while another is, a lone run does not take the solo session
        (the other call's next run would wait for all of its cores)."""
        with self._changed:
            self._calls += 1
        try:
            yield
        finally:
            with self._changed:
                self._calls -= 1

    @contextmanager
    def fastest(self) -> Iterator[ort.InferenceSession]:
        """The solo session when every pool session is free and no other call is in progress (all cores
        idle), else a pool session."""
        held: list[ort.InferenceSession] = []
        if self.solo is not None:
            with self._changed:
                if len(self._free) == len(self.sessions) and self._calls <= 1:
                    held, self._free = self._free, []
        if not held:
            with self.one() as session:
                yield session
            return
        try:
            yield self.solo  # held is only filled when there is a solo session
        finally:
            with self._changed:
                self._free.extend(held)
                self._changed.notify_all()

    def map(self, fn: Callable[[ort.InferenceSession, _T], _R], items: Sequence[_T]) -> list[_R]:
        """`fn(session, item)` for every item, in parallel on the pool; the results in order. On the first
        error, items not yet started are dropped and the error is raised."""
        if self._executor is None or len(items) < 2:
            results = []
            for item in items:
                with self.one() as session:
                    results.append(fn(session, item))
            return results

        def task(item: _T) -> _R:
            with self.one() as session:
                return fn(session, item)

        futures = [self._executor.submit(task, item) for item in items]
        try:
            return [f.result() for f in futures]
        finally:
            for f in futures:
                f.cancel()  # after an error: drop what has not started
