"""kguard: an on-device Korean privacy guard for LLM applications.

    from guard import Guard
    v = Guard().check("제 주민번호는 900101-1234568이에요", role="user")
    v.safe, v.categories, v.action, v.masked

Public names are loaded on first use, so `import guard` stays light (no onnxruntime, no grpc).

The API is what `__all__` names here (pinned by tests/test_public_api.py), plus the `__all__` of the
modules they come from and of guard.config, guard.scan, guard.server and guard.integrations. Modules whose
name starts with "_" (guard._wire, guard._pipeline, guard._proto) are private; the others
are importable for tests and tools, but only their `__all__` is a promise.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guard.client import AsyncGuardClient, GuardClient
    from guard.config import GuardConfig
    from guard.errors import (
        BlockedError,
        ConfigError,
        DeadlineError,
        GuardError,
        GuardUnavailableError,
        InputError,
        ModelError,
        OverloadedError,
        ServiceError,
        TooLargeError,
        UnknownSessionError,
        VaultFullError,
        VaultKeyError,
    )
    from guard.filters import GuardedChatClient, aguard_llm, guard_llm
    from guard.overrides import Overrides
    from guard.policy import Policy, Rules
    from guard.roundtrip import PseudonymSession
    from guard.sdk import AsyncGuard, Guard
    from guard.taxonomy import Category, Role, SpanType
    from guard.verdict import ModelInfo, Span, StreamUpdate, Verdict

__version__ = "0.1.0"

_EXPORTS = {
    "Guard": "guard.sdk",
    "AsyncGuard": "guard.sdk",
    "GuardClient": "guard.client",
    "AsyncGuardClient": "guard.client",
    "Verdict": "guard.verdict",
    "Span": "guard.verdict",
    "StreamUpdate": "guard.verdict",
    "ModelInfo": "guard.verdict",
    "GuardConfig": "guard.config",
    "Category": "guard.taxonomy",
    "SpanType": "guard.taxonomy",
    "Role": "guard.taxonomy",
    "Policy": "guard.policy",
    "Rules": "guard.policy",
    "Overrides": "guard.overrides",
    "guard_llm": "guard.filters",
    "aguard_llm": "guard.filters",
    "GuardedChatClient": "guard.filters",
    "GuardError": "guard.errors",
    "ConfigError": "guard.errors",
    "ModelError": "guard.errors",
    "InputError": "guard.errors",
    "OverloadedError": "guard.errors",
    "DeadlineError": "guard.errors",
    "ServiceError": "guard.errors",
    "BlockedError": "guard.errors",
    "GuardUnavailableError": "guard.errors",
    "TooLargeError": "guard.errors",
    "VaultKeyError": "guard.errors",
    "VaultFullError": "guard.errors",
    "UnknownSessionError": "guard.errors",
    "PseudonymSession": "guard.roundtrip",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'guard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
