"""The in-process guard: Guard (synchronous) and AsyncGuard (gathers callers through one MicroBatcher).

Both run the same pipeline: check the input, normalize, detect, run the model, fuse under the policy.
Both run the model folder's canaries (guard.selftest) when they load it, and refuse a folder that fails.
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
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from guard import heap
from guard.batcher import BatchObserver, CharBudget, LongTextLane, MicroBatcher
from guard.config import GuardConfig, LimitsConfig, replace_engine_dir
from guard.detectors.base import Match
from guard.detectors.registry import DetectorRegistry
from guard.detectors.retype import checked_type, rejected
from guard.engine.base import Engine, EngineInput, EngineOutput, ModelInfo, ModelSpan, Pacer
from guard.engine.null import NullEngine
from guard.errors import ConfigError, GuardError, InputError, ModelError, TooLargeError
from guard.masking import MaskOperator, apply_masks
from guard.normalize import Normalized, normalize
from guard.policy import Evidence, Overrides, Policy, Rules, decide
from guard.selftest import CANARIES_FILE, load_canaries
from guard.stream import AsyncStreamModerator, StreamModerator, StreamUpdate
from guard.taxonomy import CATEGORIES, CategoryInfo, Role, parse_role
from guard.verdict import Span, Verdict

log = logging.getLogger(__name__)

Message = Mapping[str, Any]
_T = TypeVar("_T")
_Judged = tuple[str, Role, str]  # text, role, context: checked against the limits, not normalized yet
_MESSAGE_ROLES = ("system", "user", "assistant")
# Above this many characters (a request's texts and context together), AsyncGuard normalizes, runs the
# detectors and fuses on its worker thread, so a large input does not stall every caller on the loop.
_INLINE_CHARS = 4096
# After this many characters of large requests since the last trim, an idle AsyncGuard gives the memory
# they used back to the OS (_release_memory), a moment after the last request ends.
_TRIM_AFTER_CHARS = 100_000
_TRIM_DELAY_S = 0.2


@dataclass(frozen=True)
class _Prepared:
    """One checked, normalized input, ready for the model."""

    normalized: Normalized
    role: Role
    engine_input: EngineInput


class _Pipeline:
    """The parts shared by Guard and AsyncGuard: input checks before the model, fusion after it."""

    def __init__(self, model: str | Path | None, engine: Engine | None, policy: Policy | None,
                 config: GuardConfig | None, concurrent_runs: int = 1) -> None:
        self.config = config or GuardConfig()
        self.engine = engine if engine is not None else _load_engine(self.config, model, concurrent_runs)
        self.policy = policy or (Policy.from_file(self.config.policy_file) if self.config.policy_file
                                 else Policy.default())
        self.hmac_key = self.config.hmac_key
        if self.policy.masking is MaskOperator.HASH and not self.hmac_key:
            raise ConfigError("policy masks with hash but no key: give config.hmac_key "
                              "(kguard reads KGUARD_HMAC_KEY_FILE or KGUARD_HMAC_KEY)")
        self.detectors = DetectorRegistry.default()
        self.self_test()

    def judge(self, text: str | bytes | None, messages: Sequence[Message] | None, role: str | None,
              context: str | None) -> _Judged:
        """The input checked against the limits (cheap: no normalization yet)."""
        return _judged(text, messages, role, context, self.config.limits)

    def prepare(self, text: str | bytes | None, messages: Sequence[Message] | None, role: str | None,
                context: str | None) -> _Prepared:
        return self.prepared(self.judge(text, messages, role, context))

    def prepared(self, judged: _Judged) -> _Prepared:
        text, judged_role, context = judged
        normalized = normalize(text)
        ctx = normalize(context).text if context else ""
        return _Prepared(normalized, judged_role, EngineInput(normalized.text, judged_role, ctx))

    def rules(self, role: Role | str, overrides: Overrides | None, rules: Rules | None) -> Rules:
        """The rules of one call: given ones as they are, else the policy resolved (and the overrides
        checked) once, at the entry of the call."""
        return rules if rules is not None else self.policy.resolve(role, overrides)

    def finish(self, item: _Prepared, output: EngineOutput, rules: Rules) -> Verdict:
        text = item.normalized.text
        matches = self.detectors.analyze(text)
        spans, scores = _validated_model_evidence(text, output, matches)
        evidence = Evidence(item.normalized, item.role, matches, scores, spans)
        return decide(evidence, rules, model_thresholds=self.engine.info.thresholds, hmac_key=self.hmac_key)

    def mask_spans(self, text: str, spans: Sequence[Span]) -> str:
        return apply_masks(text, spans, self.policy.masking, self.hmac_key)

    def prepare_batch(self, texts: Sequence[str | bytes], role: str,
                      ) -> list[_Prepared | GuardError]:
        return self.prepared_batch(self.judge_batch(texts, role))

    def judge_batch(self, texts: Sequence[str | bytes], role: str) -> list[_Judged | GuardError]:
        """Each item checked against the limits; the item count first, before looking at any item."""
        if len(texts) > self.config.limits.max_batch_items:
            raise InputError(f"batch of {len(texts)} items exceeds the limit of "
                             f"{self.config.limits.max_batch_items}")
        out: list[_Judged | GuardError] = []
        for index, text in enumerate(texts):
            try:
                out.append(self.judge(text, None, role, None))
            except InputError as exc:
                out.append(InputError(f"item {index}: {exc}"))
        return out

    def prepared_batch(self, judged: Sequence[_Judged | GuardError]) -> list[_Prepared | GuardError]:
        return [j if isinstance(j, GuardError) else self.prepared(j) for j in judged]

    def self_test(self) -> None:
        """Run the model folder's canaries (guard.selftest); ModelError naming the failures. Skipped for
        engines without a folder, when config.engine.self_test is off, or (with a warning) when the
        folder has no canaries.json."""
        folder = _model_folder(self.engine)
        if folder is None or not self.config.engine.self_test:
            return
        canaries = load_canaries(folder)
        if canaries is None:
            log.warning("model folder has no %s: start-up self-test skipped", CANARIES_FILE)
            return
        items = [self.prepare(c.text, None, c.role, None) for c in canaries]
        outputs = self.engine.predict([i.engine_input for i in items])
        problems = [problem for c, item, out in zip(canaries, items, outputs, strict=True)
                    for problem in c.problems(self.detectors.analyze(item.normalized.text), out.scores,
                                              self.engine.info.thresholds)]
        if problems:
            raise ModelError(f"{CANARIES_FILE}: the start-up self-test failed: {'; '.join(problems)} "
                             "(is a model file damaged? compare the files' sha256 in the model info)")


def _validated_model_evidence(text: str, output: EngineOutput, matches: Sequence[Match],
                              ) -> tuple[list[ModelSpan], dict[str, float]]:
    """The model's spans through the identifier rules, and its scores with what the rules ruled out.

    A category whose only identifier evidence is model spans the validators reject (a company number
    tagged RRN, a 1588 line tagged PHONE) is not flagged on the model's word: its score drops to 0.
    """
    kept: list[ModelSpan] = []
    rejected_codes: set[str] = set()
    for s in output.spans:
        value = text[s.start:s.end]
        kind = checked_type(s.type, value)
        if rejected(kind, value):
            rejected_codes.add(kind.category.value)
        else:
            kept.append(replace(s, type=kind))
    supported = {s.type.category.value for s in kept} | {m.category.value for m in matches}
    scores = dict(output.scores)
    for code in rejected_codes - supported:
        scores[code] = 0.0
    return kept, scores


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
        self._p = _Pipeline(model, engine, policy, config)

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
        item = self._p.prepare(text, messages, rules.role if rules else role, context)
        resolved = self._p.rules(item.role, overrides, rules)
        output = self._p.engine.predict([item.engine_input])[0]
        return self._p.finish(item, output, resolved)

    def check_batch(self, texts: Sequence[str | bytes], *, role: str = "user",
                    overrides: Overrides | None = None, return_exceptions: bool = False,
                    rules: Rules | None = None) -> list[Verdict | GuardError]:
        """Judge many texts in one model call. A bad item raises InputError naming its index, or with
        `return_exceptions=True` takes the error's place in the list while the rest are answered."""
        resolved = self._p.rules(role, overrides, rules)
        prepared = self._p.prepare_batch(texts, resolved.role)
        if not return_exceptions:
            _raise_first(prepared)
        good = [p for p in prepared if isinstance(p, _Prepared)]
        outputs = iter(self._p.engine.predict([p.engine_input for p in good]) if good else [])
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
    a model it loads itself with `intra_op_num_threads` 0 (all cores) then gets the cores split between
    the concurrent runs (2 batches on 2 cores: one thread each) instead of each run asking for all.
    Texts longer than `config.batcher.long_text_chars` go through the long-text lane instead (engines
    whose predict takes a pacer); `budget` bounds the characters in flight (`max_inflight_chars`).
    """

    def __init__(self, model: str | Path | None = None, *, engine: Engine | None = None,
                 policy: Policy | None = None, config: GuardConfig | None = None,
                 observer: BatchObserver | None = None) -> None:
        config = config or GuardConfig()
        b = config.batcher
        self._p = _Pipeline(model, engine, policy, config, concurrent_runs=b.max_concurrent_batches)
        self._batcher: MicroBatcher[EngineInput, EngineOutput] = MicroBatcher(
            self._p.engine.predict, max_batch_size=b.max_batch_size, max_wait_s=b.max_wait_s,
            max_queue=b.max_queue, sort_key=lambda item: len(item.text), observer=observer,
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
        warmup = getattr(self._p.engine, "warmup", None)
        if callable(warmup):
            await asyncio.get_running_loop().run_in_executor(None, warmup)

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
            item = await self._off_loop(self._p.prepared, judged) if large else self._p.prepared(judged)
            output = await self._compute(item.engine_input, deadline)
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
            _raise_first(judged)
        size = sum(len(j[0]) for j in judged if not isinstance(j, GuardError))
        self.reserve(size)
        try:
            large = size > _INLINE_CHARS
            prepared = (await self._off_loop(self._p.prepared_batch, judged) if large
                        else self._p.prepared_batch(judged))

            async def one(p: _Prepared | GuardError) -> EngineOutput | GuardError:
                return p if isinstance(p, GuardError) else await self._compute(p.engine_input, deadline)

            outputs = await asyncio.gather(*(one(p) for p in prepared), return_exceptions=return_exceptions)

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


def _model_folder(engine: Engine) -> Path | None:
    """The folder an engine was loaded from (OnnxEngine's config.model_dir), else None."""
    folder = getattr(getattr(engine, "config", None), "model_dir", None)
    return Path(folder) if folder is not None else None


def _load_engine(config: GuardConfig, model: str | Path | None, concurrent_runs: int = 1) -> Engine:
    from guard.engine.onnx import OnnxEngine  # onnxruntime loads only when a model is wanted

    engine_config = replace_engine_dir(config.engine, model)
    if concurrent_runs > 1 and engine_config.intra_op_num_threads == 0:
        # "All cores" for each of several runs at once oversubscribes them: split the cores instead.
        threads = max(1, _cores() // concurrent_runs)
        engine_config = replace(engine_config, intra_op_num_threads=threads)
    return OnnxEngine(engine_config)


def _cores() -> int:
    """Cores this process may run on (its affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _judged(text: str | bytes | None, messages: Sequence[Message] | None, role: str | None,
            context: str | None, limits: LimitsConfig) -> tuple[str, Role, str]:
    """The text to judge, its role and its context, checked against the limits."""
    if (text is None) == (messages is None):
        raise InputError("give either text or messages, not both and not neither")
    if messages is not None:
        text, role, context = _last_turn(messages, limits)
    checked = _checked_text(text, limits, "text")
    judged_role = parse_role(role or "user")
    ctx = _checked_text(context, limits, "context", allow_empty=True) if context else ""
    return checked, judged_role, ctx


def _last_turn(messages: Sequence[Message], limits: LimitsConfig) -> tuple[str, str, str]:
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes) or not messages:
        raise InputError("messages must be a non-empty list of {role, content} objects")
    if len(messages) > limits.max_messages:
        raise InputError(f"{len(messages)} messages exceed the limit of {limits.max_messages}")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in _MESSAGE_ROLES:
            raise InputError(f"message {index}: role must be one of {', '.join(_MESSAGE_ROLES)}")
        if not isinstance(message.get("content"), str):
            raise InputError(f"message {index}: content must be a string")
    last = messages[-1]
    if last["role"] == "system":
        raise InputError("the last message must be from the user or the assistant")
    context = ""
    if last["role"] == "assistant":
        prompts = [m["content"] for m in messages[:-1] if m["role"] == "user"]
        context = prompts[-1] if prompts else ""
    return last["content"], last["role"], context


def _checked_text(text: object, limits: LimitsConfig, what: str, allow_empty: bool = False) -> str:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from None
    if not isinstance(text, str):
        raise InputError(f"{what} must be a string, not {type(text).__name__}")
    if not allow_empty and not text.strip():
        raise InputError(f"{what} is empty")
    if len(text) > limits.max_text_chars:
        raise TooLargeError(f"{what} is too large: {len(text)} characters, over the limit of "
                            f"{limits.max_text_chars}")
    return text


def _raise_first(prepared: Sequence[object]) -> None:
    for p in prepared:
        if isinstance(p, GuardError):
            raise p


def _reraise(exc: BaseException) -> Verdict:
    raise exc
