"""How the server names a caller that left: its deadline, or a cancel (guard/server/interceptors.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from guard.server.interceptors import DEADLINE_SLACK_S, _cancel_code


@dataclass
class Context:
    """The one method of grpc.aio.ServicerContext that _cancel_code reads."""

    remaining: float | None

    def time_remaining(self) -> float | None:
        return self.remaining


@pytest.mark.parametrize(("remaining", "code"), [
    (None, "CANCELLED"),                       # no deadline: only a cancel can end the call early
    (30.0, "CANCELLED"),                       # left long before its deadline
    (-0.5, "DEADLINE_EXCEEDED"),
    (0.0, "DEADLINE_EXCEEDED"),
    (DEADLINE_SLACK_S / 2, "DEADLINE_EXCEEDED"),  # the caller's timer ran a moment ahead of ours
    (DEADLINE_SLACK_S * 2, "CANCELLED"),
])
def test_a_caller_that_left_is_named_by_its_deadline(remaining: float | None, code: str) -> None:
    assert _cancel_code(Context(remaining)) == code  # type: ignore[arg-type]
