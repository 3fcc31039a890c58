"""The record scanner: texts out of records, verdicts in, flagged fields masked. No files, no processes.

This is the one piece the local scan, the `datasets` map function and the Ray Data class share, so the
three paths flag and mask a record the same way. A record is a dict; the chosen fields hold either a
string, a list of strings, or a chat (a list of `{"role", "content"}` messages, each judged with its
own role). Fields flagged only at the category level (a sensitive sentence, with no span to mask) are
replaced by a placeholder naming the categories, so no flagged text survives in "mask" mode.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from guard.config import HMAC_KEY_ENV, HMAC_KEY_FILE_ENV, EngineConfig, GuardConfig, replace_engine_dir
from guard.errors import ConfigError, GuardError
from guard.masking import MaskOperator
from guard.policy import Policy
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES, Category, Role
from guard.verdict import Verdict

#: Texts per check_batch call; well under LimitsConfig.max_batch_items, big enough to fill a batch.
CALL_BATCH = 64
#: Record error codes. They name the problem; none ever carries input text.
MISSING_FIELD = "missing_field"
NOT_TEXT = "not_text"
CHECK_FAILED = "check_failed"


@dataclass(frozen=True, kw_only=True)
class EngineSpec:
    """How to build a Guard in a worker process (picklable: the resolved config and a few names).

    Attributes:
        config: the one GuardConfig of the command (model folder, policy file, limits, HMAC key).
        detectors_only: no model, validated detectors alone.
        intra_op_num_threads: onnxruntime threads in this engine (1 per process in a pool), on one
            session: the worker processes are the parallelism, not a session pool.
        masking: the masking operator (placeholder, partial, hash); None: the policy's own.
    """

    config: GuardConfig = field(default_factory=GuardConfig)
    detectors_only: bool = False
    intra_op_num_threads: int = 1
    masking: str | None = MaskOperator.PLACEHOLDER.value

    @classmethod
    def for_model(cls, model_dir: str | Path | None = None, *, policy_file: str | Path | None = None,
                  hmac_key: bytes | None = None, **kw: Any) -> EngineSpec:
        """A spec over the default config with this model folder (None: the shipped one), policy and key."""
        engine = replace_engine_dir(EngineConfig(), model_dir or None)
        config = GuardConfig(engine=engine, policy_file=Path(policy_file) if policy_file else None,
                             hmac_key=hmac_key)
        return cls(config=config, **kw)

    def policy(self) -> Policy:
        """The policy file's (or the default) policy, with this spec's masking operator."""
        policy = Policy.from_file(self.config.policy_file) if self.config.policy_file else Policy.default()
        return policy if self.masking is None else replace(policy, masking=MaskOperator(self.masking))

    def check(self) -> None:
        """Raise ConfigError here for what would stop every worker as it starts (a policy file that
        does not load, hash masking without a key), so the scan fails with one clear line first."""
        if self.policy().masking is MaskOperator.HASH and not self.config.hmac_key:
            raise ConfigError(f"--masking hash needs a key: set {HMAC_KEY_FILE_ENV} or {HMAC_KEY_ENV}")

    def build(self) -> Guard:
        """A Guard with one engine of one session whose thread count is this spec's."""
        engine = replace(self.config.engine, intra_op_num_threads=self.intra_op_num_threads, sessions=1)
        config = replace(self.config, engine=engine)
        if self.detectors_only:
            return Guard.detectors_only(policy=self.policy(), config=config)
        return Guard(policy=self.policy(), config=config)

    def fingerprint(self) -> dict[str, Any]:
        """What changes a scan's output, for the resume check (never the key: a keyed digest of it)."""
        key = self.config.hmac_key
        return {"model_dir": None if self.detectors_only else str(self.config.engine.model_dir),
                "detectors_only": self.detectors_only, "masking": self.masking,
                "policy_file": str(self.config.policy_file) if self.config.policy_file else None,
                "max_text_chars": self.config.limits.max_text_chars,
                "hmac_key": hmac.new(key, b"kguard-scan-resume", hashlib.sha256).hexdigest()[:16] if key else None}


@dataclass(frozen=True, kw_only=True)
class ScanSettings:
    """What to scan in a record and what to do with what is found.

    Attributes:
        fields: names of the fields to judge.
        role: the role of plain string fields ("user" or "assistant"); chat messages carry their own.
        drop: True drops flagged records; False writes them with flagged fields masked.
        annotate: if set, a field of that name gets the record's flagged category codes.
    """

    fields: tuple[str, ...]
    role: str = Role.USER.value
    drop: bool = False
    annotate: str | None = None


@dataclass(frozen=True)
class RecordResult:
    """What the scan did with one record (never its text, except in `data`, the output row).

    Attributes:
        number: the record's number in its input (1-based).
        data: the row to write (masked), or None when it is not written (dropped or unscannable).
        categories: flagged category codes over all its fields, sorted.
        flags: (role, category) pairs, one per flagged text, for counting by role.
        texts: how many texts were judged.
        errors: (code, field name or None) per problem.
    """

    number: int
    data: dict[str, Any] | None
    categories: tuple[str, ...] = ()
    flags: tuple[tuple[str, str], ...] = ()
    texts: int = 0
    errors: tuple[tuple[str, str | None], ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.categories)


@dataclass
class _Slot:
    """One text found in a record: where it sits, so its masked form can be put back."""

    record: int
    field: str
    index: int | None   # position in a list field, None for a plain string field
    role: str
    text: str
    verdict: Verdict | GuardError | None = None


@dataclass
class _Work:
    """A record while it is being scanned (mutable on purpose: slots are filled in batches)."""

    number: int
    data: dict[str, Any] | None
    errors: list[tuple[str, str | None]]
    slots: list[_Slot] = field(default_factory=list)


class RecordScanner:
    """Judges the chosen fields of records with one Guard and masks or drops what is flagged.

    Args:
        guard: the Guard to use (one per process; a Guard is not shared across processes).
        settings: fields, role, drop or mask.
    """

    def __init__(self, guard: Guard, settings: ScanSettings) -> None:
        self._guard = guard
        self.settings = settings
        # A dataset is scrubbed, not served: every category the policy does not allow is masked
        # (Policy.scrubbing), resolved once per role for the whole scan.
        scrubbing = guard.policy.scrubbing()
        self._rules = {role.value: scrubbing.resolve(role) for role in Role}

    def scan(self, records: Sequence[tuple[int, dict[str, Any] | None, str | None]]) -> list[RecordResult]:
        """Scan (number, data, read error) triples; one result per record, in order."""
        works = [self._collect(number, data, error) for number, data, error in records]
        slots = [s for w in works for s in w.slots]
        for role in (Role.USER.value, Role.ASSISTANT.value):
            mine = [s for s in slots if s.role == role]
            for start in range(0, len(mine), CALL_BATCH):
                part = mine[start:start + CALL_BATCH]
                verdicts = self._check(part, role)
                for slot, verdict in zip(part, verdicts, strict=True):
                    slot.verdict = verdict
        return [self._finish(w) for w in works]

    def _check(self, slots: Sequence[_Slot], role: str) -> list[Verdict | GuardError]:
        texts = [s.text for s in slots]
        try:
            return self._guard.check_batch(texts, role=role, rules=self._rules[role], return_exceptions=True)
        except GuardError as exc:  # the whole call failed (e.g. the engine): fail only these texts
            return [exc] * len(texts)

    def _collect(self, number: int, data: dict[str, Any] | None, error: str | None) -> _Work:
        work = _Work(number, data, [(error, None)] if error else [])
        if data is None:
            return work
        for name in self.settings.fields:
            value = data.get(name)
            if value is None:
                work.errors.append((MISSING_FIELD, name))
            elif isinstance(value, str):
                self._add(work, name, None, self.settings.role, value)
            elif isinstance(value, list | tuple):
                for index, item in enumerate(value):
                    self._add_item(work, name, index, item)
            else:
                work.errors.append((NOT_TEXT, name))
        return work

    def _add_item(self, work: _Work, name: str, index: int, item: Any) -> None:
        if isinstance(item, str):
            self._add(work, name, index, self.settings.role, item)
        elif isinstance(item, dict) and isinstance(item.get("content"), str):
            # system and tool turns go into a model as input, so they are judged as prompts
            role = Role.ASSISTANT.value if item.get("role") == "assistant" else Role.USER.value
            self._add(work, name, index, role, item["content"])
        elif isinstance(item, dict) and item.get("content") is None:
            return  # a turn without content (e.g. a tool call's): no text to judge
        elif item is not None:
            work.errors.append((NOT_TEXT, name))

    @staticmethod
    def _add(work: _Work, name: str, index: int | None, role: str, text: str) -> None:
        if text.strip():  # empty texts carry nothing and the guard refuses them
            work.slots.append(_Slot(work.number, name, index, role, text))

    def _finish(self, work: _Work) -> RecordResult:
        errors = list(work.errors)
        categories: set[str] = set()
        flags: list[tuple[str, str]] = []
        failed = False
        for slot in work.slots:
            verdict = slot.verdict
            if not isinstance(verdict, Verdict):
                errors.append((CHECK_FAILED, slot.field))
                failed = True
                continue
            categories.update(verdict.categories)
            flags.extend((slot.role, c) for c in verdict.categories)
        cats = tuple(sorted(categories, key=CATEGORY_CODES.index))
        out = self._output(work, cats, failed)
        return RecordResult(work.number, out, cats, tuple(flags), len(work.slots), tuple(errors))

    def _output(self, work: _Work, categories: tuple[str, ...], failed: bool) -> dict[str, Any] | None:
        # Records that could not be read or judged are not written: unscanned text must not pass, and
        # a field that holds something other than text (a number, an object) was not scanned either.
        unscanned = any(code == NOT_TEXT for code, _ in work.errors)
        if work.data is None or failed or unscanned or (categories and self.settings.drop):
            return None
        data = work.data
        if categories:
            data = copy.deepcopy(data)
            for slot in work.slots:
                verdict = slot.verdict
                if isinstance(verdict, Verdict) and not verdict.safe:
                    _put(data, slot, _masked(slot.text, verdict))
        if self.settings.annotate:
            data = dict(data)
            data[self.settings.annotate] = list(categories)
        return data


def _masked(text: str, verdict: Verdict) -> str:
    """The text with its spans masked; a placeholder if a flagged category has no span to mask."""
    spanned = {s.category for s in verdict.spans}
    unspanned = [c for c in verdict.categories if c not in spanned]
    if unspanned:
        return "[" + ", ".join(Category(c).info.name_ko for c in unspanned) + "]"
    return verdict.masked if verdict.masked is not None else text


def _put(data: dict[str, Any], slot: _Slot, text: str) -> None:
    if slot.index is None:
        data[slot.field] = text
        return
    item = data[slot.field][slot.index]
    if isinstance(item, dict):
        item["content"] = text
    else:
        data[slot.field][slot.index] = text


#: Columns the integrations add to every batch.
CATEGORIES_COLUMN = "kguard_categories"
FLAGGED_COLUMN = "kguard_flagged"
ERRORS_COLUMN = "kguard_errors"


def scan_columns(scanner: RecordScanner, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Scan a columnar batch (column -> values); return it with the fields masked and flag columns.

    Rows are kept (a map may not change their number): a flagged row carries its categories for a
    later filter, and a row that could not be judged gets None in its fields, so no unjudged text
    passes (fail closed). Used by the `datasets` and Ray Data integrations.
    """
    names = list(batch)
    size = len(batch[names[0]]) if names else 0
    rows = [{name: batch[name][i] for name in names} for i in range(size)]
    results = scanner.scan([(i + 1, row, None) for i, row in enumerate(rows)])
    fields = [f for f in scanner.settings.fields if f in batch]
    out: dict[str, list[Any]] = {name: list(batch[name]) for name in names}
    for i, result in enumerate(results):
        for name in fields:
            out[name][i] = result.data.get(name) if result.data is not None else None
    out[CATEGORIES_COLUMN] = [list(r.categories) for r in results]
    out[FLAGGED_COLUMN] = [r.flagged for r in results]
    out[ERRORS_COLUMN] = [[code for code, _ in r.errors] for r in results]
    return out
