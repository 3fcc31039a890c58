"""The pipeline, as named phases: prepare -> engine -> finish (infinity's pre / core / post).

    judge    the input checked against the limits (cheap: no normalization yet)
    prepare  normalize the text and its context (the model's input)
    detect   the validated detectors on the normalized text, beside the model: AsyncGuard runs them
             while the engine computes
    engine   the model: Engine.predict (Guard calls it directly, AsyncGuard through its batcher, which
             does not sort: the engine sorts the windows of a batch by token length, once)
    finish   the model's spans through the identifier rules (guard.detectors.retype), detector and model
             scores fused; a judged category is flagged when its score passes its threshold or a
             validated detector found it; the resolved Rules decide the action and what is masked
             (Rules.masks, the one masking rule)

Guard and AsyncGuard (guard.sdk) are façades over one Pipeline: they add the engine phase's scheduling
(one call, or the micro-batcher and the long-text lane) and nothing else. The pipeline also runs the
model folder's canaries (guard.selftest) when it loads a model, and refuses a folder that fails.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from guard.config import GuardConfig, LimitsConfig, available_cores, replace_engine_dir
from guard.detectors.base import Match, Validity
from guard.detectors.registry import DetectorRegistry
from guard.detectors.retype import checked_type, rejected
from guard.engine.base import Engine, EngineInput, EngineOutput, ModelSpan
from guard.errors import ConfigError, GuardError, InputError, ModelError, TooLargeError
from guard.masking import MaskOperator, apply_masks
from guard.normalize import Normalized, normalize
from guard.overrides import Overrides
from guard.policy import Policy, Rules
from guard.selftest import CANARIES_FILE, load_canaries
from guard.taxonomy import CATEGORY_CODES, Role, parse_role
from guard.verdict import Action, Span, Verdict

log = logging.getLogger(__name__)

Message = Mapping[str, Any]
Judged = tuple[str, Role, str]  # text, role, context: checked against the limits, not normalized yet
_MESSAGE_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Prepared:
    """One checked, normalized input, ready for the model; `matches` once the detectors have run."""

    normalized: Normalized
    role: Role
    engine_input: EngineInput
    matches: list[Match] | None = None


class Pipeline:
    """prepare -> engine -> finish, shared by Guard and AsyncGuard.

    Args:
        model: a model folder; None: config.engine.model_dir.
        engine: an Engine to use instead of loading one.
        policy: the policy; None reads config.policy_file, else Policy.default().
        config: limits, engine options, HMAC key; None: the defaults.
        concurrent_runs: engine calls at once (AsyncGuard's concurrent batches): a model loaded here
            on one session (EngineConfig.sessions 1) with intra_op_num_threads 0 gets the cores split
            between them; a session pool needs no split.
    """

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

    # judge

    def judge(self, text: str | bytes | None, messages: Sequence[Message] | None, role: str | None,
              context: str | None) -> Judged:
        """The input checked against the limits (cheap: no normalization yet)."""
        return _judged(text, messages, role, context, self.config.limits)

    def judge_batch(self, texts: Sequence[str | bytes], role: str) -> list[Judged | GuardError]:
        """Each item checked against the limits; the item count first, before looking at any item."""
        if len(texts) > self.config.limits.max_batch_items:
            raise InputError(f"batch of {len(texts)} items exceeds the limit of "
                             f"{self.config.limits.max_batch_items}")
        out: list[Judged | GuardError] = []
        for index, text in enumerate(texts):
            try:
                out.append(self.judge(text, None, role, None))
            except InputError as exc:
                out.append(InputError(f"item {index}: {exc}"))
        return out

    def rules(self, role: Role | str, overrides: Overrides | None, rules: Rules | None) -> Rules:
        """The rules of one call: given ones as they are, else the policy resolved (and the overrides
        checked) once, at the entry of the call."""
        return rules if rules is not None else self.policy.resolve(role, overrides)

    # prepare

    def prepare(self, judged: Judged) -> Prepared:
        """Normalize the text and its context: the model's input."""
        text, role, context = judged
        normalized = normalize(text)
        ctx = normalize(context).text if context else ""
        return Prepared(normalized, role, EngineInput(normalized.text, role, ctx))

    def prepare_batch(self, judged: Sequence[Judged | GuardError]) -> list[Prepared | GuardError]:
        return [j if isinstance(j, GuardError) else self.prepare(j) for j in judged]

    # detect (beside the engine)

    def detect(self, item: Prepared) -> Prepared:
        """The item with the validated detectors' matches on its normalized text."""
        return replace(item, matches=self.detectors.analyze(item.normalized.text))

    def detect_batch(self, items: Sequence[Prepared | GuardError]) -> list[Prepared | GuardError]:
        return [i if isinstance(i, GuardError) else self.detect(i) for i in items]

    # engine (the synchronous path; AsyncGuard schedules its own)

    def infer(self, items: Sequence[Prepared]) -> list[EngineOutput]:
        """The model's outputs for prepared inputs, in one engine call."""
        return self.engine.predict([i.engine_input for i in items]) if items else []

    # finish

    def finish(self, item: Prepared, output: EngineOutput, rules: Rules) -> Verdict:
        """The model's evidence validated, fused with the detectors' under `rules`."""
        matches = item.matches if item.matches is not None else self.detect(item).matches
        assert matches is not None
        spans, scores = validated_model_evidence(item.normalized.text, output, matches)
        evidence = Evidence(item.normalized, item.role, matches, scores, spans)
        return decide(evidence, rules, model_thresholds=self.engine.info.thresholds, hmac_key=self.hmac_key)

    def mask_spans(self, text: str, spans: Sequence[Span]) -> str:
        """`text` with `spans` written by the policy's masking operator (and this pipeline's key)."""
        return apply_masks(text, spans, self.policy.masking, self.hmac_key)

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
        items = [self.prepare(self.judge(c.text, None, c.role, None)) for c in canaries]
        outputs = self.infer(items)
        problems = [problem for c, item, out in zip(canaries, items, outputs, strict=True)
                    for problem in c.problems(self.detectors.analyze(item.normalized.text), out.scores,
                                              self.engine.info.thresholds)]
        if problems:
            raise ModelError(f"{CANARIES_FILE}: the start-up self-test failed: {'; '.join(problems)} "
                             "(is a model file damaged? compare the files' sha256 in the model info)")


def _model_folder(engine: Engine) -> Path | None:
    """The folder an engine was loaded from (OnnxEngine's config.model_dir), else None."""
    folder = getattr(getattr(engine, "config", None), "model_dir", None)
    return Path(folder) if folder is not None else None


def _load_engine(config: GuardConfig, model: str | Path | None, concurrent_runs: int = 1) -> Engine:
    from guard.engine.onnx import OnnxEngine  # onnxruntime loads only when a model is wanted

    engine_config = replace_engine_dir(config.engine, model)
    if concurrent_runs > 1 and engine_config.intra_op_num_threads == 0 and engine_config.sessions == 1:
        # "All cores" for each of several runs at once on one session oversubscribes them: split the
        # cores instead. (A session pool bounds the runs at once by its sessions itself.)
        threads = max(1, available_cores() // concurrent_runs)
        engine_config = replace(engine_config, intra_op_num_threads=threads)
    return OnnxEngine(engine_config)


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


def raise_first(prepared: Sequence[object]) -> None:
    for p in prepared:
        if isinstance(p, GuardError):
            raise p


# finish: fusion ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """What the detectors and the model found in one text, in normalized coordinates."""

    normalized: Normalized
    role: Role
    matches: Sequence[Match]
    model_scores: Mapping[str, float] | None = None
    model_spans: Sequence[ModelSpan] = ()


def decide(evidence: Evidence, rules: Rules, *, model_thresholds: Mapping[str, float] | None = None,
           hmac_key: bytes | None = None) -> Verdict:
    """Fuse detector and model evidence under resolved rules into a Verdict (offsets into the original)."""
    scores = _fused_scores(evidence)
    validated = {m.category.value for m in evidence.matches if m.validity is Validity.VALID}
    flagged: dict[str, Action] = {}
    for code, action in rules.actions.items():
        passed = scores[code] >= rules.threshold(code, model_thresholds) or code in validated
        if passed and action is not Action.ALLOW:
            flagged[code] = action
    spans = _spans(evidence, flagged)
    categories = sorted(flagged, key=lambda c: (-scores[c], c))
    action = max(flagged.values(), key=lambda a: a.rank, default=Action.ALLOW)
    masked = rules.mask(evidence.normalized.original, spans, hmac_key) if rules.return_masked else None
    return Verdict(
        safe=not flagged,
        categories=categories,
        scores={c: round(scores[c], 4) for c in CATEGORY_CODES},
        spans=spans if rules.return_spans else [],
        action=action.value,
        masked=masked,
        role=rules.role.value,
    )


def _fused_scores(evidence: Evidence) -> dict[str, float]:
    scores = {c: float((evidence.model_scores or {}).get(c, 0.0)) for c in CATEGORY_CODES}
    for m in evidence.matches:
        code = m.category.value
        scores[code] = max(scores[code], m.score)
    return scores


def _spans(evidence: Evidence, flagged: Mapping[str, Action]) -> list[Span]:
    """Detector spans of flagged categories, then model spans that overlap none of them."""
    norm = evidence.normalized
    out: list[Span] = []
    for m in evidence.matches:
        if m.category.value in flagged:
            start, end = norm.to_original(m.start, m.end)
            out.append(Span(start, end, m.type.value, m.category.value, round(m.score, 4), "detector"))
    taken = [(s.start, s.end) for s in out]
    for ms in evidence.model_spans:
        code = ms.type.category.value
        if code not in flagged:
            continue
        start, end = norm.to_original(ms.start, ms.end)
        if start >= end or any(start < e and s < end for s, e in taken):
            continue
        out.append(Span(start, end, ms.type.value, code, round(ms.score, 4), "model"))
    return sorted(out, key=lambda s: (s.start, s.end))


def validated_model_evidence(text: str, output: EngineOutput, matches: Sequence[Match],
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
