"""The policy: per role and category, a threshold and an action, and the masking operator.

`Policy.resolve(role, overrides)` turns it, once per check, batch or stream, into Rules: the action and
threshold of every judged category and the one masking rule (`Rules.masks`). guard._pipeline applies them: a
category is flagged when its fused score passes its threshold, or when a validated detector found a span
of it (whatever the model says); a category whose action is "allow" is scored but not flagged; the
verdict's action is the strictest flagged one.

Policy files are TOML (policies/default.toml is the default, written out and commented):

    masking = "partial"            # placeholder | partial | hash

    [thresholds]                   # optional: override the model's per-category thresholds
    S3 = 0.8

    [user]                         # actions for prompts
    P1 = "mask"
    S1 = "flag"

    [assistant]                    # actions for answers
    P5 = "block"

    [pseudonymize]                 # optional: how `pseudonymize` replaces a category's spans
    P5 = "fake"                    # placeholder (<이름_1>, the default) | fake (a Korean name)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser as the tomli package (a dependency on 3.10 only)
    import tomli as tomllib

from guard.errors import ConfigError
from guard.masking import MaskOperator, apply_masks
from guard.overrides import Overrides, parse_action, parse_code, parse_threshold
from guard.taxonomy import CATEGORY_CODES, Role, parse_role
from guard.verdict import Action, PseudonymStyle, Span

DEFAULT_THRESHOLD = 0.5

_DEFAULT_ACTIONS: dict[Role, dict[str, Action]] = {
    Role.USER: {
        **{c: Action.MASK for c in ("P1", "P2", "P3", "P4")},
        "P5": Action.FLAG,
        **{c: Action.FLAG for c in CATEGORY_CODES if c.startswith("S")},
    },
    Role.ASSISTANT: {
        **{c: Action.MASK for c in ("P1", "P2", "P3", "P4")},
        "P5": Action.BLOCK,
        **{c: Action.FLAG for c in CATEGORY_CODES if c.startswith("S")},
    },
}


@dataclass(frozen=True, kw_only=True)
class Policy:
    """Actions per role and category, optional threshold overrides, the masking operator, and the
    pseudonym style per category (guard.pseudonymize; a category not listed gets placeholders)."""

    actions: Mapping[Role, Mapping[str, Action]] = field(default_factory=lambda: _DEFAULT_ACTIONS)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    masking: MaskOperator = MaskOperator.PARTIAL
    pseudonyms: Mapping[str, PseudonymStyle] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Policy:
        """Mask identifiers (P1-P4), flag sensitive data, block a private profile in an answer."""
        return cls()

    @classmethod
    def strict(cls) -> Policy:
        """Block anything flagged, prompts and answers alike."""
        return cls(actions={r: dict.fromkeys(CATEGORY_CODES, Action.BLOCK) for r in Role},
                   masking=MaskOperator.PLACEHOLDER)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load a TOML policy file; raises ConfigError naming the file and the problem."""
        path = Path(path)
        try:
            # bytes, not read_text: its newline translation would turn an invalid bare CR into "\n"
            data = tomllib.loads(path.read_bytes().decode("utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read policy file {path}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"policy file {path} is not valid TOML: {exc}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"policy file {path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        unknown = set(data) - {"masking", "thresholds", "user", "assistant", "pseudonymize"}
        if unknown:
            raise ConfigError(f"unknown keys {sorted(unknown)} (expected masking, thresholds, user, assistant, "
                              "pseudonymize)")
        actions = {r: dict(_DEFAULT_ACTIONS[r]) for r in Role}
        for role in Role:
            for code, value in _table(data, role.value).items():
                actions[role][parse_code(code, ConfigError)] = parse_action(value, ConfigError)
        thresholds = {parse_code(c, ConfigError): parse_threshold(v, ConfigError)
                      for c, v in _table(data, "thresholds").items()}
        try:
            masking = MaskOperator(data.get("masking", MaskOperator.PARTIAL.value))
        except ValueError:
            raise ConfigError("masking must be one of placeholder, partial, hash") from None
        return cls(actions=actions, thresholds=thresholds, masking=masking,
                   pseudonyms=_pseudonym_styles(_table(data, "pseudonymize")))

    def action(self, role: Role, code: str) -> Action:
        return self.actions[role].get(code, Action.FLAG)

    def resolve(self, role: Role | str, overrides: Overrides | None = None) -> Rules:
        """This policy for one role under one request's overrides, checked once here (InputError naming
        the bad field or role). The checks, the stream and the scan all apply what this returns."""
        judged_role = parse_role(role)
        ov = overrides.validated() if overrides is not None else Overrides()
        actions = {code: Action(ov.actions[code]) if code in ov.actions else self.action(judged_role, code)
                   for code in CATEGORY_CODES
                   if (ov.categories_on is None or code in ov.categories_on) and code not in ov.categories_off}
        return Rules(role=judged_role, actions=actions, thresholds={**self.thresholds, **ov.thresholds},
                     masking=self.masking, return_masked=ov.return_masked, return_spans=ov.return_spans)

    def scrubbing(self) -> Policy:
        """This policy for datasets (kguard scan): every category it does not allow is masked, whatever
        its action (flag, block), since a dataset is scrubbed, not served: "flag" still means "must not
        reach the model"."""
        return replace(self, actions={
            r: {c: Action.ALLOW if self.action(r, c) is Action.ALLOW else Action.MASK for c in CATEGORY_CODES}
            for r in Role})


@dataclass(frozen=True, kw_only=True)
class Rules:
    """A policy resolved for one role and one request (Policy.resolve): what a check applies.

    Attributes:
        role: the role judged.
        actions: the action of every category judged (categories switched off are absent).
        thresholds: thresholds set by the request or the policy; the rest are the model's.
        masking: how masked spans are written (placeholder, partial, hash).
        return_masked: compute Verdict.masked.
        return_spans: fill Verdict.spans.
    """

    role: Role
    actions: Mapping[str, Action]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    masking: MaskOperator = MaskOperator.PARTIAL
    return_masked: bool = True
    return_spans: bool = True

    def action(self, code: str) -> Action:
        """The category's action; a category not judged is allowed (never flagged)."""
        return self.actions.get(code, Action.ALLOW)

    def threshold(self, code: str, model_thresholds: Mapping[str, float] | None = None) -> float:
        """The request's, else the policy's, else the model's threshold, else DEFAULT_THRESHOLD."""
        return self.thresholds.get(code, (model_thresholds or {}).get(code, DEFAULT_THRESHOLD))

    def masks(self, code: str) -> bool:
        """The masking rule, written once: a flagged span is hidden when its category's action is mask
        or block. decide (Verdict.masked), the stream (what it releases) and the scan all ask this."""
        return self.action(code).rank >= Action.MASK.rank

    def mask(self, text: str, spans: Sequence[Span], key: bytes | None) -> str:
        """`text` with the spans this rule hides replaced, by the policy's operator (and `key`)."""
        return apply_masks(text, [s for s in spans if self.masks(s.category)], self.masking, key)


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{key}] must be a table")
    return value


def _pseudonym_styles(table: Mapping[str, Any]) -> dict[str, PseudonymStyle]:
    styles = {}
    for code, value in table.items():
        try:
            styles[parse_code(code, ConfigError)] = PseudonymStyle(str(value).strip().lower())
        except ValueError:
            raise ConfigError("a [pseudonymize] style must be placeholder or fake") from None
    return styles


__all__ = ["DEFAULT_THRESHOLD", "Overrides", "Policy", "Rules"]
