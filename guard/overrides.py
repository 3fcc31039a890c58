"""Per-request changes to the policy (the gRPC request's PolicyOverrides), and the value checks they
share with policy files: a category code or id, an action name, a threshold in [0, 1].

Overrides are plain data here; `Policy.resolve(role, overrides)` (guard.policy) checks them, once, at
the entry of a check, a batch or a stream. The client sends them as they are; the server resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from guard.errors import InputError
from guard.taxonomy import parse_category
from guard.verdict import Action


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """Per-request changes to the policy.

    Attributes:
        categories_on: when set, only these category codes are judged.
        categories_off: category codes not judged.
        thresholds: per-code threshold overrides.
        actions: per-code action overrides ("allow", "flag", "mask", "block").
        return_masked: compute Verdict.masked.
        return_spans: fill Verdict.spans.
    """

    categories_on: frozenset[str] | None = None
    categories_off: frozenset[str] = frozenset()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    actions: Mapping[str, str] = field(default_factory=dict)
    return_masked: bool = True
    return_spans: bool = True

    def validated(self) -> Overrides:
        """Codes canonicalised, values checked; raises InputError naming the bad field."""
        on = None if self.categories_on is None else frozenset(parse_code(c) for c in self.categories_on)
        return replace(
            self,
            categories_on=on,
            categories_off=frozenset(parse_code(c) for c in self.categories_off),
            thresholds={parse_code(c): parse_threshold(v) for c, v in self.thresholds.items()},
            actions={parse_code(c): parse_action(a).value for c, a in self.actions.items()},
        )


def parse_code(value: object, error: type[Exception] = InputError) -> str:
    """A category code ("P1") from a code or an id ("unique_id"); `error` names the problem."""
    try:
        return parse_category(str(value)).value
    except InputError as exc:
        raise error(str(exc)) from None


def parse_action(value: Any, error: type[Exception] = InputError) -> Action:
    try:
        return Action(str(value).strip().lower())
    except ValueError:
        raise error("action must be one of allow, flag, mask, block") from None


def parse_threshold(value: Any, error: type[Exception] = InputError) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise error("threshold must be a number between 0 and 1")
    return float(value)


__all__ = ["Overrides", "parse_action", "parse_code", "parse_threshold"]
