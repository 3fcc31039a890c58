"""CPU-heavy work stays off the event loop: a maximum-size text must not stall every other caller.

Normalizing and scanning 200,000 characters of a pathological pattern (combining marks, zero-width
characters, key prefixes) costs about a second of CPU on a shared 2-core machine. On the event-loop
thread one such request would delay every other caller of the sidecar for that long, so AsyncGuard
runs both on a worker thread for large texts. The test records which thread runs them (no timing
asserted).
"""

from __future__ import annotations

import threading

import pytest

import guard.sdk
from guard.detectors.registry import DetectorRegistry
from guard.engine.fake import FakeEngine
from guard.normalize import Normalized, normalize
from guard.sdk import AsyncGuard


async def test_large_text_is_normalized_and_scanned_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []
    analyze = DetectorRegistry.analyze

    def recording_normalize(text: str) -> Normalized:
        if len(text) > 10_000:
            threads.append(threading.current_thread())
        return normalize(text)

    def recording_analyze(self: DetectorRegistry, text: str) -> list:  # type: ignore[type-arg]
        if len(text) > 10_000:
            threads.append(threading.current_thread())
        return analyze(self, text)

    monkeypatch.setattr(guard.sdk, "normalize", recording_normalize)
    monkeypatch.setattr(DetectorRegistry, "analyze", recording_analyze)
    async with AsyncGuard(engine=FakeEngine()) as g:
        await g.check("a\u0301" * 50_000)
    assert threads and all(t is not loop_thread for t in threads)
