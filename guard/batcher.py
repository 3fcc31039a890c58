"""MicroBatcher: gathers single requests from many callers into batches for one batch function.

The pattern of infinity's batch handler and ray serve's `@serve.batch`: the batcher owns only a bounded
queue and one future per item. A collector task waits for a free batch slot (`max_concurrent_batches`),
then for the first item, then gathers more until `max_batch_size` or `max_wait_s` (no wait when no batch
is computing: idle cores gain nothing from waiting); it drops items whose
caller gave up (cancelled) or whose deadline passed, sorts the rest by `sort_key` (token count: similar
lengths pad less), and runs the batch function on a dedicated executor thread while it gathers the next
batch. Waiting for the slot before gathering keeps items accumulating into one bigger batch while every
slot is busy. The result list must match the batch; a failure fails only that batch.

LongTextLane is the other way in, for texts too long to share a batch: each is computed on its own
thread in slices (the engine's model calls, capped by a token budget) that take turns first come, first
served: a text that finished a slice queues behind the ones waiting, so two long texts alternate and
neither holds the batcher's slots that small checks need. Before each slice the text's ticket checks
that its caller is still there and its deadline has not passed; if not, the computation stops there.
CharBudget bounds the characters of all requests in flight (load shed with OverloadedError).
None of them knows anything of ONNX or gRPC.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from guard.config import BatcherConfig
from guard.errors import ConfigError, DeadlineError, OverloadedError

_D = BatcherConfig()  # the defaults live in guard.config only

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
        max_wait_s: how long to wait for more items after the first one of a batch, while another batch
            is computing (with none, a batch goes at once with what is queued).
        max_queue: most items waiting; `submit` raises OverloadedError beyond it.
        sort_key: items of a batch are sorted by it before `fn` (e.g. token count); results are
            still returned to each caller.
        observer: told about queue depth and every batch run.
        max_concurrent_batches: most calls of `fn` running at once (ray serve's name), each on its own
            executor thread; the next batch is gathered only when one of them is free.
    """

    def __init__(self, fn: Callable[[Sequence[In]], list[Out]], *, max_batch_size: int = _D.max_batch_size,
                 max_wait_s: float = _D.max_wait_s, max_queue: int = _D.max_queue,
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
                # Nothing computing: the cores are idle, so waiting for company only adds latency;
                # while a batch computes, arrivals are worth `max_wait_s` to share the next one.
                wait = self._max_wait_s if self._running else 0.0
                stop_seen = await self._gather(batch, loop.time() + wait)
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


class CallerGoneError(Exception):
    """Raised between slices of a long text whose caller cancelled (or whose lane is stopping)."""


class _Ticket:
    """One long text's pass through the lane; the engine's Pacer for its predict call."""

    def __init__(self, turns: _Turns, max_batch_tokens: int, deadline: float | None) -> None:
        self.max_batch_tokens = max_batch_tokens
        self._turns = turns
        self._deadline = deadline
        self._gone = threading.Event()
        self._gone_error: Exception = CallerGoneError("the caller has gone")
        self._holding = False
        # Guarded by the turns' lock:
        self.wake = threading.Event()
        self.granted = False

    def abandon(self, error: Exception | None = None) -> None:
        """The caller has gone (or the lane stops: `error` for a caller still waiting): stop at the next
        slice; a thread waiting for its turn wakes up now."""
        if error is not None:
            self._gone_error = error
        self._gone.set()
        self.wake.set()

    def live(self) -> bool:
        return not self._gone.is_set() and (self._deadline is None or time.monotonic() < self._deadline)

    def check(self) -> None:
        if self._gone.is_set():
            raise self._gone_error
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise DeadlineError("deadline passed while computing")

    def wait_s(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def before_run(self) -> None:
        """Pacer: give back the turn of the slice just computed, then wait for the next one."""
        if self._holding:
            self._holding = False
            self._turns.release()
        self.check()
        self._turns.acquire(self)
        self._holding = True

    def done(self) -> None:
        if self._holding:
            self._holding = False
            self._turns.release()


class _Turns:
    """`n` turns handed out first come, first served (threading.Semaphore makes no such promise)."""

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()
        self._free = n
        self._line: deque[_Ticket] = deque()

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._line)

    def acquire(self, ticket: _Ticket) -> None:
        """Take a turn, waiting behind the tickets already in line; raise (and pass a turn handed to
        it on) when the ticket's caller goes or its deadline passes while it waits."""
        with self._lock:
            if self._free > 0 and not self._line:
                self._free -= 1
                return
            ticket.granted = False
            ticket.wake.clear()
            queued = ticket.live()  # after the clear: an abandon() from now on wakes the wait below
            if queued:
                self._line.append(ticket)
        while queued:
            ticket.wake.wait(ticket.wait_s())
            with self._lock:
                if ticket.granted:
                    ticket.granted = False
                    if ticket.live():
                        return
                    self._hand_on()  # not wanted any more: the next in line gets it
                    break
                if not ticket.live():
                    self._line.remove(ticket)
                    break
                ticket.wake.clear()
        ticket.check()  # raises: gone or expired

    def release(self) -> None:
        with self._lock:
            self._hand_on()

    def _hand_on(self) -> None:
        if self._line:
            nxt = self._line.popleft()
            nxt.granted = True
            nxt.wake.set()
        else:
            self._free += 1


class LongTextLane(Generic[In, Out]):
    """Computes long texts one per thread, in slices that take turns (see the module docstring).

    Args:
        fn: computes one item; runs on a lane thread and must call `pacer.before_run()` before each
            slice (guard.engine.base.Pacer: OnnxEngine.predict does).
        slice_tokens: the pacer's `max_batch_tokens`, the size of a slice.
        concurrent_slices: slices computed at once.
        max_texts: texts in progress (threads, each computing or waiting for its turn); more wait in
            line before their first slice.
        observer: told about every text computed, as a batch of one.
    """

    def __init__(self, fn: Callable[[In, _Ticket], Out], *, slice_tokens: int = _D.long_slice_tokens,
                 concurrent_slices: int = _D.long_concurrent_slices, max_texts: int = _D.long_max_texts,
                 observer: BatchObserver | None = None,
                 ) -> None:
        if slice_tokens < 1 or concurrent_slices < 1 or max_texts < 1:
            raise ConfigError("slice_tokens, concurrent_slices and max_texts must be >= 1")
        self._fn = fn
        self._slice_tokens = slice_tokens
        self._concurrent = concurrent_slices
        self._max_texts = max_texts
        self._observer = observer
        self._turns = _Turns(concurrent_slices)
        self._tickets: set[_Ticket] = set()
        self._running: set[asyncio.Future[Out]] = set()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def active(self) -> int:
        """Long texts submitted and not finished (computing, waiting for a turn or in line)."""
        return len(self._running)

    @property
    def waiting(self) -> int:
        """Long texts between two slices, in line for a turn."""
        return self._turns.waiting

    async def start(self) -> None:
        if self._executor is None:
            self._turns = _Turns(self._concurrent)
            self._executor = ThreadPoolExecutor(max_workers=self._max_texts, thread_name_prefix="guard-long")

    async def stop(self, timeout: float | None = None) -> None:
        """Refuse new texts, let those in progress finish for up to `timeout` seconds (None: as long as
        they take), then stop the rest at their next slice and wait for their threads."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
        for ticket in list(self._tickets):
            ticket.abandon(OverloadedError("the guard stopped before this text was computed"))
        if self._running:
            await asyncio.wait(set(self._running))  # one slice at most each
        executor.shutdown(wait=False)

    async def submit(self, item: In, *, deadline: float | None = None) -> Out:
        """Compute one long text; a cancelled caller stops it at its next slice.

        Raises:
            OverloadedError: the lane is not running.
            DeadlineError: the deadline passed before or while it was computed.
            Exception: whatever `fn` raised.
        """
        if self._executor is None:
            raise OverloadedError("the long-text lane is not running")
        ticket = _Ticket(self._turns, self._slice_tokens, deadline)
        ticket.check()
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self._compute, item, ticket, time.monotonic())
        self._tickets.add(ticket)
        self._running.add(future)
        future.add_done_callback(lambda f: self._finished(f, ticket))
        try:
            # shield: a cancelled caller must not orphan the thread's future (stop() waits for it)
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            ticket.abandon()
            raise

    def _finished(self, future: asyncio.Future[Out], ticket: _Ticket) -> None:
        self._running.discard(future)
        self._tickets.discard(ticket)
        if not future.cancelled():
            future.exception()  # retrieved: a caller that left does not make asyncio log it

    def _compute(self, item: In, ticket: _Ticket, enqueued_s: float) -> Out:
        try:
            ticket.check()  # gone or expired while in line: never started
            waited = time.monotonic() - enqueued_s
            started = time.perf_counter()
            out = self._fn(item, ticket)
            if self._observer is not None:
                MicroBatcher._notify(self._observer.on_batch, 1, [waited], time.perf_counter() - started)
            return out
        finally:
            ticket.done()


class CharBudget:
    """Characters of the requests in flight, bounded: `reserve` sheds load beyond `limit`.

    A request larger than the whole budget is admitted when nothing else is in flight, so any request
    within the input limits can be answered, and the peak stays max(limit, one request). Used from one
    event loop only (no lock).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ConfigError("max_inflight_chars must be >= 1")
        self.limit = limit
        self.in_flight = 0

    def reserve(self, n: int) -> None:
        """Count `n` more characters in flight, or raise OverloadedError (nothing counted)."""
        if self.in_flight and self.in_flight + n > self.limit:
            raise OverloadedError(f"too many characters in flight (limit {self.limit})")
        self.in_flight += n

    def release(self, n: int) -> None:
        self.in_flight = max(0, self.in_flight - n)
