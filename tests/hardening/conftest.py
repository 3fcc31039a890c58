"""Fixtures for the hardening tests: the service tests' real servers, plus helpers to wait without sleeps."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from tests.service.conftest import start_server  # noqa: F401  (the fixture, shared)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 20.0) -> None:
    """Poll `predicate` until it holds; fail after `timeout_s` (a bound on hanging, not a speed check)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout_s
    while not predicate():
        if loop.time() > until:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
