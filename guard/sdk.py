"""The in-process guard: Guard (synchronous) and AsyncGuard (gathers callers through one MicroBatcher).

Both run the same pipeline: check the input, normalize, detect, run the model, fuse under the policy.
GuardClient and AsyncGuardClient (guard.client) offer the same methods over the gRPC sidecar; the
check_stream methods of all four share guard.stream's logic (the sidecar's CheckStream runs it too).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from guard.batcher import BatchObserver, MicroBatcher
from guard.config import GuardConfig, LimitsConfig, replace_engine_dir
from guard.detectors.base import Match
from guard.detectors.registry import DetectorRegistry
from guard.detectors.retype import checked_type, rejected
from guard.engine.base import Engine, EngineInput, EngineOutput, ModelInfo, ModelSpan
from guard.engine.null import NullEngine
from guard.errors import ConfigError, GuardError, InputError, TooLargeError
from guard.masking import MaskOperator, apply_masks, load_hmac_key
from guard.normalize import Normalized, normalize
from guard.policy import Evidence, Overrides, Policy, decide
from guard.stream import AsyncStreamModerator, StreamModerator, StreamUpdate
from guard.taxonomy import CATEGORIES, CategoryInfo, Role, parse_role
from guard.verdict import Span, Verdict

Message = Mapping[str, Any]
_MESSAGE_ROLES = ("system", "user", "assistant")
# Above this many characters, AsyncGuard normalizes and runs the detectors on a worker thread so a
# large text does not stall every other caller on the event loop.
_INLINE_CHARS = 4096


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
        self.hmac_key = load_hmac_key(self.config.hmac_key_file)
        if self.policy.masking is MaskOperator.HASH and not self.hmac_key:
            raise ConfigError("policy masks with hash but no key: set KGUARD_HMAC_KEY or a key file")
        self.detectors = DetectorRegistry.default()

    def prepare(self, text: str | bytes | None, messages: Sequence[Message] | None, role: str | None,
                context: str | None) -> _Prepared:
        text, judged_role, context = _judged(text, messages, role, context, self.config.limits)
        normalized = normalize(text)
        ctx = normalize(context).text if context else ""
        return _Prepared(normalized, judged_role, EngineInput(normalized.text, judged_role, ctx))

    def finish(self, item: _Prepared, output: EngineOutput, overrides: Overrides | None) -> Verdict:
        text = item.normalized.text
        matches = self.detectors.analyze(text)
        spans, scores = _validated_model_evidence(text, output, matches)
        evidence = Evidence(item.normalized, item.role, matches, scores, spans)
        return decide(evidence, self.policy, model_thresholds=self.engine.info.thresholds,
                      overrides=overrides.validated() if overrides else None, hmac_key=self.hmac_key)

    def mask_spans(self, text: str, spans: Sequence[Span]) -> str:
        return apply_masks(text, spans, self.policy.masking, self.hmac_key)

    def prepare_batch(self, texts: Sequence[str | bytes], role: str,
                      ) -> list[_Prepared | GuardError]:
        if len(texts) > self.config.limits.max_batch_items:
            raise InputError(f"batch of {len(texts)} items exceeds the limit of "
                             f"{self.config.limits.max_batch_items}")
        out: list[_Prepared | GuardError] = []
        for index, text in enumerate(texts):
            try:
                out.append(self.prepare(text, None, role, None))
            except InputError as exc:
                out.append(InputError(f"item {index}: {exc}"))
        return out


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
              role: str | None = None, context: str | None = None,
              overrides: Overrides | None = None) -> Verdict:
        """Judge one text, or the last message of a conversation (with the prompt as context)."""
        item = self._p.prepare(text, messages, role, context)
        output = self._p.engine.predict([item.engine_input])[0]
        return self._p.finish(item, output, overrides)

    def check_batch(self, texts: Sequence[str | bytes], *, role: str = "user",
                    overrides: Overrides | None = None, return_exceptions: bool = False,
                    ) -> list[Verdict | GuardError]:
        """Judge many texts in one model call. A bad item raises InputError naming its index, or with
        `return_exceptions=True` takes the error's place in the list while the rest are answered."""
        prepared = self._p.prepare_batch(texts, role)
        if not return_exceptions:
            _raise_first(prepared)
        good = [p for p in prepared if isinstance(p, _Prepared)]
        outputs = iter(self._p.engine.predict([p.engine_input for p in good]) if good else [])
        return [p if isinstance(p, GuardError) else self._p.finish(p, next(outputs), overrides)
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
        warmup = getattr(self._p.engine, "warmup", None)
        if callable(warmup):
            await asyncio.get_running_loop().run_in_executor(None, warmup)

    async def stop(self) -> None:
        """Answer everything queued, then stop."""
        await self._batcher.stop()

    async def __aenter__(self) -> AsyncGuard:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def check(self, text: str | bytes | None = None, *, messages: Sequence[Message] | None = None,
                    role: str | None = None, context: str | None = None,
                    overrides: Overrides | None = None, deadline: float | None = None) -> Verdict:
        """Judge one text; `deadline` is a time.monotonic() instant after which it is not computed."""
        large = _size(text, messages) > _INLINE_CHARS
        prepare = functools.partial(self._p.prepare, text, messages, role, context)
        item = await asyncio.to_thread(prepare) if large else prepare()
        output = await self._batcher.submit(item.engine_input, deadline=deadline)
        if large:
            return await asyncio.to_thread(self._p.finish, item, output, overrides)
        return self._p.finish(item, output, overrides)

    async def check_batch(self, texts: Sequence[str | bytes], *, role: str = "user",
                          overrides: Overrides | None = None, deadline: float | None = None,
                          return_exceptions: bool = False) -> list[Verdict | GuardError]:
        prepared = self._p.prepare_batch(texts, role)
        if not return_exceptions:
            _raise_first(prepared)

        async def one(p: _Prepared | GuardError) -> Verdict | GuardError:
            if isinstance(p, GuardError):
                return p
            output = await self._batcher.submit(p.engine_input, deadline=deadline)
            return self._p.finish(p, output, overrides)

        results = await asyncio.gather(*(one(p) for p in prepared), return_exceptions=return_exceptions)
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


def _size(text: object, messages: object) -> int:
    if isinstance(text, str | bytes | bytearray):
        return len(text)
    if isinstance(messages, Sequence):
        return sum(len(m.get("content") or "") for m in messages if isinstance(m, Mapping))
    return 0


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
