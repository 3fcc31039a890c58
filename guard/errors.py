"""The guard's exception tree.

    GuardError
    ├── ConfigError       bad configuration or policy file
    │   └── VaultKeyError     a vault key missing or too short, or a vault file the key cannot open
    ├── ModelError        model folder missing, incomplete or corrupt
    ├── InputError        bad caller input (also a ValueError)
    │   ├── TooLargeError     over a size limit (characters, gRPC message bytes): refused, never "overloaded"
    │   └── UnknownSessionError  a pseudonym session id that is unknown, expired or ended
    ├── OverloadedError   the queue is full; raised before enqueue
    │   └── VaultFullError    a pseudonym session, or the vault of all sessions, is at its bound
    ├── DeadlineError     the caller's deadline passed before an answer
    ├── ServiceError      a gRPC call failed (client side); carries the status code name
    └── BlockedError      an LLM filter blocked a prompt or an answer; carries the Verdict
        └── GuardUnavailableError  the guard could not answer and the filter failed closed

Messages name the problem (a field, a length, a code) and never carry the caller's text.
"""

from __future__ import annotations


class GuardError(Exception):
    """Base of every error the guard raises on purpose."""


class ConfigError(GuardError):
    """A configuration value or policy file is invalid."""


class ModelError(GuardError):
    """The model folder is missing, incomplete or cannot be loaded."""


class InputError(GuardError, ValueError):
    """The caller's input is invalid (empty, too long, bad role, unknown category...)."""


class TooLargeError(InputError):
    """The input is over a size limit (characters per text, bytes per gRPC message) and was refused
    before any check. It is the input's fault, not an outage: the LLM filters never let it through
    unchecked, also with fail_open=True."""


class OverloadedError(GuardError):
    """The request queue is full; the request was not accepted."""


class VaultKeyError(ConfigError):
    """A vault key is missing or too short, or a vault file cannot be opened with the key given (a wrong
    key or a damaged file: authenticated encryption cannot tell them apart)."""


class UnknownSessionError(InputError):
    """A pseudonym session id is unknown, expired or ended: its values are gone."""


class VaultFullError(OverloadedError):
    """A pseudonym session is at its bound of entries or bytes, or the vault of all sessions is full."""


class DeadlineError(GuardError):
    """The caller's deadline passed before the request was answered."""


class ServiceError(GuardError):
    """A call to the guard service failed.

    Attributes:
        code: the gRPC status code name, e.g. "UNAVAILABLE" or "INTERNAL".
    """

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.code = code


class BlockedError(GuardError):
    """A guarded LLM call was blocked by the policy.

    Attributes:
        verdict: the guard's verdict (its `masked` text is the only text it carries).
        stage: "prompt" or "answer".
    """

    def __init__(self, verdict: object, stage: str) -> None:
        codes = ",".join(getattr(verdict, "categories", []))
        super().__init__(f"{stage} blocked by policy (categories: {codes or 'none'})")
        self.verdict = verdict
        self.stage = stage


class GuardUnavailableError(BlockedError):
    """An LLM filter blocked a call because the guard could not answer (fail closed, the default).

    Attributes:
        verdict: None (there is no verdict).
        stage: "prompt" or "answer".
        reason: why the guard could not answer, from a closed set ("deadline", "overloaded",
            "service", "model", "config", "other"); the underlying error is the `__cause__`.
    """

    def __init__(self, stage: str, reason: str) -> None:
        GuardError.__init__(self, f"{stage} blocked: the guard could not answer ({reason}); failing closed")
        self.verdict = None
        self.stage = stage
        self.reason = reason


__all__ = ["BlockedError", "ConfigError", "DeadlineError", "GuardError", "GuardUnavailableError", "InputError",
           "ModelError", "OverloadedError", "ServiceError", "TooLargeError"]
