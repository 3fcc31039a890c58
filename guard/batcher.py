"""MicroBatcher: gathers single requests from many callers into batches for one batch function.

The pattern of infinity's batch handler and ray serve's `@serve.batch`: the batcher owns only a bounded
queue and one future per item. A collector task waits for a free batch slot (`max_concurrent_batches`),
then for the first item, then gathers more until `max_batch_size` or `max_wait_s`; it drops items whose
caller gave up (cancelled) or whose deadline passed, sorts the rest by `sort_key` (token count: similar
lengths pad less), and runs the batch function on a dedicated executor thread while it gathers the next
batch. Waiting for the slot before gathering keeps items accumulating into one bigger batch while every
slot is busy. The result list must match the batch; a failure fails only that batch.
It knows nothing of ONNX or gRPC.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from guard.errors import ConfigError, DeadlineError, OverloadedError

logger = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class BatchObserver(Protocol):
    """Receives the batcher's measurements (GuardMetrics implements it)."""

    def on_enqueue(self, depth: int) -> None: ...

    def on_batch(self, size: int, queue_wait_s: list[float], inference_s: float) -> None: ...


@dataclass
class _Item(Generic[In, Out]):
    value: In
    future: asyncio.Future[Out]
    enqueued_s: float           # time.monotonic() at submit
    deadline: float | None      # time.monotonic() after which the item is not computed


_STOP = object()  # queued by stop(): everything before it is drained, then the collector ends


class MicroBatcher(Generic[In, Out]):
    """Batches `submit` calls across callers for `fn`.

    Args:
        fn: takes a batch, returns one result per item in the same order; runs on an executor thread,
            on up to `max_concurrent_batches` threads at once (it must be thread-safe when that is > 1).
        max_batch_size: most items per call of `fn`.
        max_wait_s: how long to wait for more items after the first one of a batch.
        max_queue: most items waiting; `submit` raises OverloadedError beyond it.
        sort_key: items of a batch are sorted by it before `fn` (e.g. token count); results are
            still returned to each caller.
        observer: told about queue depth and every batch run.
        max_concurrent_batches: most calls of `fn` running at once (ray serve's name), each on its own
            executor thread; the next batch is gathered only when one of them is free.
    """

    def __init__(self, fn: Callable[[Sequence[In]], list[Out]], *, max_batch_size: int = 32,
                 max_wait_s: float = 0.002, max_queue: int = 2048,
                 sort_key: Callable[[In], int] | None = None, observer: BatchObserver | None = None,
                 max_concurrent_batches: int = 1) -> None:
        if max_batch_size < 1 or max_queue < 1 or max_wait_s < 0 or max_concurrent_batches < 1:
            raise ConfigError("max_batch_size, max_queue and max_concurrent_batches must be >= 1, "
                              "max_wait_s >= 0")
        self._fn = fn
        self._max_batch_size = max_batch_size
        self._max_wait_s = max_wait_s
        self._max_queue = max_queue
        self._sort_key = sort_key
        self._observer = observer
        self._max_concurrent = max_concurrent_batches
        # Unbounded asyncio queue with the bound enforced in submit, so stop() can always add _STOP.
        self._queue: asyncio.Queue[_Item[In, Out] | object] = asyncio.Queue()
        self._waiting = 0  # items in the queue (without _STOP)
        self._slots = asyncio.Semaphore(max_concurrent_batches)  # free batch slots
        self._running: set[asyncio.Task[None]] = set()  # batches being computed
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def depth(self) -> int:
        """Items waiting in the queue (not counting the batches being computed)."""
        return self._waiting

    @property
    def running(self) -> bool:
        return self._task is not None and not self._stopping

    async def start(self) -> None:
        """Start the collector task and the executor threads; a no-op when already running."""
        if self.running:
            return
        if self._task is not None:  # a stop() is still draining
            await self.stop()
        self._queue = asyncio.Queue()
        self._waiting = 0
        self._stopping = False
        self._slots = asyncio.Semaphore(self._max_concurrent)
        self._executor = ThreadPoolExecutor(max_workers=self._max_concurrent, thread_name_prefix="guard-batcher")
        self._task = asyncio.get_running_loop().create_task(self._collect(), name="guard-batcher")

    async def stop(self) -> None:
        """Refuse new items, compute everything already queued and in flight, then end the collector
        and the threads."""
        task, executor = self._task, self._executor
        if task is None:
            return
        if not self._stopping:
            self._stopping = True
            self._queue.put_nowait(_STOP)
        try:
            await asyncio.shield(task)  # a cancelled stop() must not abort the drain
        finally:
            if task.done():
                if self._task is task:  # a start() after the drain may have begun anew
                    self._task = None
                if executor is not None:
                    executor.shutdown(wait=False)  # idle: the collector awaited its last batches
                if self._executor is executor:
                    self._executor = None

    async def __aenter__(self) -> MicroBatcher[In, Out]:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def submit(self, item: In, *, deadline: float | None = None) -> Out:
        """Queue one item and wait for its result.

        Args:
            item: the input.
            deadline: a `time.monotonic()` value; if it passes before the item's batch runs, the item
                is dropped and DeadlineError raised.

        Raises:
            OverloadedError: the queue is full or the batcher is not running (raised before enqueue).
            DeadlineError: the deadline passed before the item was computed.
            Exception: whatever `fn` raised for the item's batch, as raised.
        """
        if self._task is None or self._stopping:  # not started, stopping or stopped
            raise OverloadedError("batcher is not running")
        if self._waiting >= self._max_queue:
            raise OverloadedError(f"queue full ({self._max_queue} items waiting)")
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(item, future, time.monotonic(), deadline))
        self._waiting += 1
        if self._observer is not None:
            self._notify(self._observer.on_enqueue, self._waiting)
        # A cancelled caller cancels `future` too; the collector then skips the item.
        return await future

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                # A free slot first: while all are busy, arrivals pile up for one bigger batch.
                await self._slots.acquire()
                first = await self._queue.get()
                if first is _STOP:
                    break
                item = self._take(first)
                batch = [item] if item is not None else []
                stop_seen = await self._gather(batch, loop.time() + self._max_wait_s)
                task = loop.create_task(self._run_in_slot(batch, self._slots), name="guard-batch")
                self._running.add(task)
                task.add_done_callback(self._running.discard)
                if stop_seen:
                    break
            if self._running:  # drain: every batch in flight answers its callers
                await asyncio.wait(set(self._running))
        except BaseException:
            # Only a bug or a cancelled loop gets here: refuse new items and release every waiting caller.
            self._stopping = True
            for task in self._running:
                task.cancel()  # _run cancels its callers' futures
            while not self._queue.empty():
                entry = self._queue.get_nowait()
                if entry is not _STOP:
                    item = self._take(entry)
                    if item is not None:
                        item.future.cancel()
            raise

    async def _gather(self, batch: list[_Item[In, Out]], until: float) -> bool:
        """Add items to `batch` until it is full or `until` (loop time); True when _STOP was reached."""
        loop = asyncio.get_running_loop()
        while len(batch) < self._max_batch_size:
            if not self._queue.empty():
                nxt = self._queue.get_nowait()
            else:
                remaining = until - loop.time()
                if remaining <= 0 or self._stopping:  # when draining, do not wait for more
                    return False
                try:
                    nxt = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    return False
            if nxt is _STOP:
                return True
            item = self._take(nxt)
            if item is not None:
                batch.append(item)
        return False

    def _take(self, entry: object) -> _Item[In, Out] | None:
        """A dequeued entry as an item, or None when its caller has gone (it takes no place in a batch)."""
        self._waiting -= 1
        item: _Item[In, Out] = entry  # type: ignore[assignment]
        return None if item.future.done() else item

    async def _run_in_slot(self, batch: list[_Item[In, Out]], slots: asyncio.Semaphore) -> None:
        try:
            await self._run(batch)
        except Exception:  # a bug in _run: never leave a caller waiting or the slot taken
            logger.exception("batch runner failed")
            for item in batch:
                if not item.future.done():
                    item.future.cancel()
        finally:
            slots.release()  # the semaphore it was taken from, even if a restart made a new one

    async def _run(self, batch: list[_Item[In, Out]]) -> None:
        now = time.monotonic()
        live: list[_Item[In, Out]] = []
        for item in batch:
            if item.future.done():  # cancelled while the batch was gathered
                continue
            if item.deadline is not None and now >= item.deadline:
                item.future.set_exception(DeadlineError("deadline passed while queued"))
                continue
            live.append(item)
        if not live:
            return
        loop = asyncio.get_running_loop()
        waits = [now - i.enqueued_s for i in live]
        try:
            if self._sort_key is not None:
                key = self._sort_key
                live.sort(key=lambda i: key(i.value))
            started = time.perf_counter()
            out = await loop.run_in_executor(self._executor, self._fn, [i.value for i in live])
            if not isinstance(out, list) or len(out) != len(live):
                got = len(out) if isinstance(out, list) else type(out).__name__
                raise RuntimeError(f"batch function returned {got} results for {len(live)} inputs")
        except Exception as exc:  # fails only this batch; callers get the exception as raised
            logger.warning("batch of %d failed: %s", len(live), type(exc).__name__)
            for item in live:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        except asyncio.CancelledError:  # the batcher is torn down: do not leave callers hanging
            for item in live:
                item.future.cancel()
            raise
        inference_s = time.perf_counter() - started
        for item, result in zip(live, out, strict=True):
            if not item.future.done():
                item.future.set_result(result)
        if self._observer is not None:
            self._notify(self._observer.on_batch, len(live), waits, inference_s)

    @staticmethod
    def _notify(method: Callable[..., None], *args: object) -> None:
        # An observer (metrics) must never break serving.
        try:
            method(*args)
        except Exception:
            logger.exception("batch observer failed")
