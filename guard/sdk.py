"""The in-process guard: Guard (synchronous) and AsyncGuard (gathers callers through one MicroBatcher).

Both are façades over one guard._pipeline.Pipeline (judge -> prepare -> engine -> finish) and resolve the
policy once per call (Policy.resolve). Both run the model folder's canaries (guard.selftest) when they
load it, and refuse a folder that fails.
GuardClient and AsyncGuardClient (guard.client) offer the same methods over the gRPC sidecar; the
check_stream methods of all four share guard.stream's logic (the sidecar's CheckStream runs it too).

AsyncGuard keeps one caller from starving the others: the characters of all requests in flight are
bounded (CharBudget: OverloadedError beyond it), large inputs are normalized and fused on a worker thread
(never on the event loop), and long texts skip the micro-batcher for the long-text lane, where they are
computed in slices that take turns and stop when their caller has gone (guard.batcher).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from guard import heap
from guard._pipeline import Message, Pipeline, Prepared, raise_first
from guard.batcher import BatchObserver, CharBudget, LongTextLane, MicroBatcher
from guard.config import GuardConfig
from guard.engine.base import Engine, EngineInput, EngineOutput, ModelInfo, Pacer
from guard.engine.null import NullEngine
from guard.errors import GuardError
from guard.overrides import Overrides
from guard.policy import Policy, Rules
from guard.stream import AsyncStreamModerator, StreamModerator
from guard.taxonomy import CATEGORIES, CategoryInfo
from guard.verdict import Span, StreamUpdate, Verdict

log = logging.getLogger(__name__)

_T = TypeVar("_T")
# Above this many characters (a request's texts and context together), AsyncGuard normalizes, runs the
# detectors and fuses on its worker thread, so a large input does not stall every caller on the loop.
_INLINE_CHARS = 4096
# After this many characters of large requests since the last trim, an idle AsyncGuard gives the memory
# they used back to the OS (_release_memory), a moment after the last request ends.
_TRIM_AFTER_CHARS = 100_000
_TRIM_DELAY_S = 0.2


class Guard:
    """Checks texts in this process with the shipped (or a given) model and the default policy.

    Args:
        model: a model folder; None loads the shipped model (or config.engine.model_dir).
        engine: an Engine to use instead of loading one (tests, custom runtimes).
        policy: the policy; None reads config.policy_file, else Policy.default().
        config: limits, engine options, key file; None uses the defaults.
    """

    def __init__(self, model: str | Path | None = None, *, engine: Engine | None = None,
                 policy: Policy | None = None, config: GuardConfig | None = None) -> None:
        self._p = Pipeline(model, engine, policy, config)

    @classmethod
    def detectors_only(cls, *, policy: Policy | None = None, config: GuardConfig | None = None) -> Guard:
        """A guard without a model: validated identifier detectors alone (no S1-S9, no P5)."""
        return cls(engine=NullEngine(), policy=policy, config=config)

    @property
    def info(self) -> ModelInfo:
        return self._p.engine.info

    @property
    def policy(self) -> Policy:
        return self._p.policy

    def categories(self) -> tuple[CategoryInfo, ...]:
        return CATEGORIES

    def check(self, text: str | bytes | None = None, *, messages: Sequence[Message] | None = None,
              role: str | None = None, context: str | None = None, overrides: Overrides | None = None,
              rules: Rules | None = None) -> Verdict:
        """Judge one text, or the last message of a conversation (with the prompt as context).
        `rules` (Policy.resolve, as guard.stream passes them) replace the policy and the overrides."""
        judged = self._p.judge(text, messages, rules.role if rules else role, context)
        resolved = self._p.rules(judged[1], overrides, rules)
        item = self._p.detect(self._p.prepare(judged))
        return self._p.finish(item, self._p.infer([item])[0], resolved)

    def check_batch(self, texts: Sequence[str | bytes], *, role: str = "user",
                    overrides: Overrides | None = None, return_exceptions: bool = False,
                    rules: Rules | None = None) -> list[Verdict | GuardError]:
        """Judge many texts in one model call. A bad item raises InputError naming its index, or with
        `return_exceptions=True` takes the error's place in the list while the rest are answered."""
        resolved = self._p.rules(role, overrides, rules)
        judged = self._p.judge_batch(texts, resolved.role)
        if not return_exceptions:
            raise_first(judged)
        prepared = self._p.detect_batch(self._p.prepare_batch(judged))
        outputs = iter(self._p.infer([p for p in prepared if isinstance(p, Prepared)]))
        return [p if isinstance(p, GuardError) else self._p.finish(p, next(outputs), resolved)
                for p in prepared]

    def check_stream(self, chunks: Iterable[str], *, role: str = "assistant", context: str | None = None,
                     overrides: Overrides | None = None) -> Iterator[StreamUpdate]:
        """Moderate an answer that arrives in chunks, as the sidecar's CheckStream does: one update per
        chunk with the text now safe to show (masked; a tail that could still be the start of an
        identifier is held back, so one split across chunks is judged whole), then a last update that
        releases the rest and carries the whole answer's verdict. Append each update's `text` to what
        was shown; after a block nothing more is released. InputError when no text came at all."""
        moderator = StreamModerator(self, role=role, context=context, overrides=overrides,
                                    max_chars=self._p.config.limits.max_text_chars)
        for chunk in chunks:
            yield moderator.feed(chunk)
        yield moderator.finish()

    def mask_spans(self, text: str, spans: Sequence[Span]) -> str:
        """`text` with `spans` replaced by the policy's masking operator (and this guard's key)."""
        return self._p.mask_spans(text, spans)

    def stream_moderator(self, *, role: str = "assistant", context: str | None = None,
                         overrides: Overrides | None = None) -> StreamModerator:
        """A moderator for one streamed answer (guard.stream): feed(chunk) returns what may be shown
        now, finish() the rest and the whole answer's verdict."""
        return StreamModerator(self, role=role, context=context, overrides=overrides,
                               max_chars=self._p.config.limits.max_text_chars)

    def mask(self, text: str, *, role: str = "user") -> str:
        """The text with every flagged span masked (whatever the category's action)."""
        actions = {code: "mask" for code in self.info.categories or ()}
        verdict = self.check(text, role=role, overrides=Overrides(actions=actions))
        return verdict.masked if verdict.masked is not None else text


class AsyncGuard:
    """Guard for asyncio services: requests from all callers are gathered by one MicroBatcher.

    Use `async with AsyncGuard() as g:` or call start() and stop() (stop drains the queue).
    With `config.batcher.max_concurrent_batches` > 1, that many batches run through the engine at once;
    their buckets share the engine's session pool (`config.engine.sessions`), which never computes more
    runs at once than it has sessions. Without a pool (`sessions` 1), a model it loads itself with
    `intra_op_num_threads` 0 (all cores) gets the cores split between the concurrent runs (2 batches on 2
    cores: one thread each) instead of each run asking for all.
    Texts longer than `config.batcher.long_text_chars` go through the long-text lane instead (engines
    whose predict takes a pacer); `budget` bounds the characters in flight (`max_inflight_chars`).
    """

    def __init__(self, model: str | Path | None = None, *, engine: Engine | None = None,
                 policy: Policy | None = None, config: GuardConfig | None = None,
                 observer: BatchObserver | None = None) -> None:
        config = config or GuardConfig()
        b = config.batcher
        self._p = Pipeline(model, engine, policy, config, concurrent_runs=b.max_concurrent_batches)
        self._batcher: MicroBatcher[EngineInput, EngineOutput] = MicroBatcher(
            self._p.engine.predict, max_batch_size=b.max_batch_size, max_wait_s=b.max_wait_s,
            max_queue=b.max_queue, observer=observer,  # no sort here: the engine sorts windows by tokens
            max_concurrent_batches=b.max_concurrent_batches)
        self._long_chars = b.long_text_chars
        self._lane: LongTextLane[EngineInput, EngineOutput] | None = None
        if _takes_pacer(self._p.engine):  # other engines compute long texts in the batcher, unsliced
            self._lane = LongTextLane(self._predict_paced, slice_tokens=b.long_slice_tokens,
                                      concurrent_slices=b.long_concurrent_slices,
                                      max_texts=b.long_max_texts, observer=observer)
        self.budget = CharBudget(config.limits.max_inflight_chars)
        self._worker: ThreadPoolExecutor | None = None  # large inputs' normalize/fuse; one thread
        self._chars_since_trim = 0
        self._trim: asyncio.TimerHandle | None = None

    @classmethod
    def detectors_only(cls, *, policy: Policy | None = None, config: GuardConfig | None = None,
                       observer: BatchObserver | None = None) -> AsyncGuard:
        return cls(engine=NullEngine(), policy=policy, config=config, observer=observer)

    @property
    def info(self) -> ModelInfo:
        return self._p.engine.info

    @property
    def policy(self) -> Policy:
        return self._p.policy

    @property
    def queue_depth(self) -> int:
        return self._batcher.depth

    def categories(self) -> tuple[CategoryInfo, ...]:
        return CATEGORIES

    async def start(self) -> None:
        """Start the batcher and warm the model up (one inference off the event loop)."""
        await self._batcher.start()
        if self._lane is not None:
            await self._lane.start()
        await asyncio.get_running_loop().run_in_executor(None, self._p.engine.warmup)

    async def stop(self, timeout: float | None = None) -> None:
        """Answer everything queued, then stop. Long texts still computing after `timeout` seconds
        (None: no bound) are stopped at their next slice; a caller still waiting gets OverloadedError.
        (A server calls this after its grace period, when its calls have ended.)"""
        await self._batcher.stop()
        if self._lane is not None:
            await self._lane.stop(timeout)
        if self._trim is not None:
            self._trim.cancel()
            self._trim = None
        if self._worker is not None:
            self._worker.shutdown(wait=False)
            self._worker = None

    async def __aenter__(self) -> AsyncGuard:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def check(self, text: str | bytes | None = None, *, messages: Sequence[Message] | None = None,
                    role: str | None = None, context: str | None = None,
                    overrides: Overrides | None = None, deadline: float | None = None,
                    rules: Rules | None = None) -> Verdict:
        """Judge one text; `deadline` is a time.monotonic() instant after which it is not computed."""
        # limits first ("too long" is not "overloaded"), then the rules: a bad override is refused here
        judged = self._p.judge(text, messages, rules.role if rules else role, context)
        resolved = self._p.rules(judged[1], overrides, rules)
        size = len(judged[0]) + len(judged[2])
        self.reserve(size)
        try:
            large = size > _INLINE_CHARS
            item = await self._off_loop(self._p.prepare, judged) if large else self._p.prepare(judged)
            computing = asyncio.ensure_future(self._compute(item.engine_input, deadline))
            item = await self._beside(computing, self._p.detect, item, large)
            output = await computing
            if large:
                return await self._off_loop(self._p.finish, item, output, resolved)
            return self._p.finish(item, output, resolved)
        finally:
            self.release(size)

    async def check_batch(self, texts: Sequence[str | bytes], *, role: str = "user",
                          overrides: Overrides | None = None, deadline: float | None = None,
                          return_exceptions: bool = False, rules: Rules | None = None,
                          ) -> list[Verdict | GuardError]:
        resolved = self._p.rules(role, overrides, rules)
        judged = self._p.judge_batch(texts, resolved.role)
        if not return_exceptions:
            raise_first(judged)
        size = sum(len(j[0]) for j in judged if not isinstance(j, GuardError))
        self.reserve(size)
        try:
            large = size > _INLINE_CHARS
            prepared = (await self._off_loop(self._p.prepare_batch, judged) if large
                        else self._p.prepare_batch(judged))

            async def one(p: Prepared | GuardError) -> EngineOutput | GuardError:
                return p if isinstance(p, GuardError) else await self._compute(p.engine_input, deadline)

            computing = asyncio.gather(*(one(p) for p in prepared), return_exceptions=return_exceptions)
            prepared = await self._beside(computing, self._p.detect_batch, prepared, large)
            outputs = await computing

            def finish_all() -> list[Verdict | BaseException]:
                return [p if isinstance(p, GuardError) else o if isinstance(o, BaseException)
                        else self._p.finish(p, o, resolved) for p, o in zip(prepared, outputs, strict=True)]

            results = await self._off_loop(finish_all) if large else finish_all()
        finally:
            self.release(size)
        return [r if isinstance(r, Verdict | GuardError) else _reraise(r) for r in results]

    async def check_stream(self, chunks: AsyncIterable[str] | Iterable[str], *, role: str = "assistant",
                           context: str | None = None, overrides: Overrides | None = None,
                           deadline: float | None = None) -> AsyncIterator[StreamUpdate]:
        """Guard.check_stream for asyncio: `chunks` may be an async iterable (an LLM's stream); each
        check goes through the batcher with the other callers'; `deadline` (time.monotonic()) bounds
        each of them."""
        moderator = AsyncStreamModerator(self, role=role, context=context, overrides=overrides,
                                         max_chars=self._p.config.limits.max_text_chars)
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                yield await moderator.feed(chunk, deadline=deadline)
        else:
            for chunk in chunks:
                yield await moderator.feed(chunk, deadline=deadline)
        yield await moderator.finish(deadline=deadline)

    def mask_spans(self, text: str, spans: Sequence[Span]) -> str:
        """`text` with `spans` replaced by the policy's masking operator (and this guard's key)."""
        return self._p.mask_spans(text, spans)

    def stream_moderator(self, *, role: str = "assistant", context: str | None = None,
                         overrides: Overrides | None = None) -> AsyncStreamModerator:
        """Guard.stream_moderator for asyncio: feed and finish are awaited."""
        return AsyncStreamModerator(self, role=role, context=context, overrides=overrides,
                                    max_chars=self._p.config.limits.max_text_chars)

    async def mask(self, text: str, *, role: str = "user") -> str:
        actions = {code: "mask" for code in self.info.categories or ()}
        verdict = await self.check(text, role=role, overrides=Overrides(actions=actions))
        return verdict.masked if verdict.masked is not None else text

    async def _beside(self, computing: asyncio.Future[Any], fn: Callable[[_T], _T], items: _T, large: bool) -> _T:
        """`fn(items)` (the detectors) while `computing` (the engine) runs: it is let enqueue first, then
        the detectors run on the loop, or on the worker thread for a large input. If they fail or the
        caller goes, the computation is cancelled."""
        await asyncio.sleep(0)  # the engine's work is submitted before the detectors start
        try:
            return await self._off_loop(fn, items) if large else fn(items)
        except BaseException:
            computing.cancel()
            computing.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: no warning
            raise

    async def _compute(self, item: EngineInput, deadline: float | None) -> EngineOutput:
        """The model's output for one input: long texts through the lane, the rest through the batcher."""
        if self._lane is not None and len(item.text) > self._long_chars:
            return await self._lane.submit(item, deadline=deadline)
        return await self._batcher.submit(item, deadline=deadline)

    def _predict_paced(self, item: EngineInput, pacer: Pacer) -> EngineOutput:
        return self._p.engine.predict([item], pacer=pacer)[0]

    async def _off_loop(self, fn: Callable[..., _T], *args: Any) -> _T:
        """`fn(*args)` on the guard's worker thread. One thread: large inputs are prepared one at a time,
        so their Python work competes with the event loop for the GIL from one thread only."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guard-prepare")
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def reserve(self, chars: int) -> None:
        """Count `chars` more characters in flight, or raise OverloadedError (the budget is full). The
        checks do it themselves; a caller holding text for later checks (a stream) does it too."""
        self.budget.reserve(chars)  # OverloadedError before any work
        if self._trim is not None:
            self._trim.cancel()
            self._trim = None

    def release(self, chars: int) -> None:
        """Give back `chars` reserved; once idle after enough traffic, trim the heap a moment later (when
        the last request's objects are gone)."""
        self.budget.release(chars)
        if chars > _INLINE_CHARS:
            self._chars_since_trim += chars
        if self.budget.in_flight == 0 and self._chars_since_trim >= _TRIM_AFTER_CHARS and self._trim is None:
            self._trim = asyncio.get_running_loop().call_later(_TRIM_DELAY_S, self._trim_when_idle)

    def _trim_when_idle(self) -> None:
        self._trim = None
        if self.budget.in_flight:  # a request came in: its release schedules this again
            return
        loop = asyncio.get_running_loop()
        if self._lane is not None and self._lane.active:  # long texts whose callers left, finishing a slice
            self._trim = loop.call_later(_TRIM_DELAY_S, self._trim_when_idle)
            return
        self._chars_since_trim = 0
        loop.run_in_executor(None, self._release_memory)

    def _release_memory(self) -> None:
        """After a burst of large requests: free what only reference cycles still hold (an exception
        that stopped a long text keeps its frames, windows included, through asyncio's futures), the
        engine's unused arena, then the free heap pages."""
        gc.collect()
        release = getattr(self._p.engine, "release_memory", None)
        if callable(release):
            try:
                release()
            except Exception:  # memory housekeeping must never break serving
                log.exception("releasing the engine's memory failed")
        heap.trim()


def _takes_pacer(engine: Engine) -> bool:
    """Whether the engine's predict accepts a pacer (the guard's engines do; a custom one may not)."""
    try:
        return "pacer" in inspect.signature(engine.predict).parameters
    except (TypeError, ValueError):
        return False


def _reraise(exc: BaseException) -> Verdict:
    raise exc


__all__ = ["AsyncGuard", "Guard"]
