"""SIGTERM under load, then a restart, on the real `kguard serve` process.

Hundreds of calls are in flight (queued in the batcher, being computed, on the wire) when the server
is told to stop. Every call must end. A call the service accepted (its handler ran) is answered with
its verdict during the drain: the in-process test counts them on the server's own metrics, which see no
status but OK. A call still on the wire, not yet handed to a handler, is refused by gRPC: UNAVAILABLE,
or CANCELLED when the transport had read it but no handler had taken it yet. Nothing hangs, nothing ends
with INTERNAL, and the process exits 0 without a traceback. A new process on the same port then serves
a client that kept retrying across the restart.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from guard.client import AsyncGuardClient, RetryPolicy
from guard.errors import ServiceError
from guard.server.app import GuardServer
from guard.verdict import Verdict
from tests.hardening.conftest import free_port
from tests.service.conftest import make_config

_LONG = " ".join(["hello world 오늘 날씨 좋다 call me 010-2345-6789"] * 60)  # many model windows each


async def _spawn(model: Path, port: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "guard.cli", "serve", "--model", str(model), "--port", str(port),
        "--metrics-port", "-1", "--grace", "30", "--max-batch-size", "8", "--max-queue", "4096",
        stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    line = (await asyncio.wait_for(proc.stderr.readline(), 90)).decode()
    assert re.search(r"serving \S+", line), line
    return proc


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    assert proc.stderr is not None
    err = (await asyncio.wait_for(proc.stderr.read(), 90)).decode()
    return await asyncio.wait_for(proc.wait(), 90), err


def _check_outcomes(outcomes: list[object], n: int) -> int:
    """Every outcome is its own verdict or a refusal before acceptance; returns how many were answered."""
    answered = 0
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, Verdict):
            answered += 1
            prefix = f"{i} hello" if i < n else f"late {i - n}"
            assert outcome.masked is not None and outcome.masked.startswith(prefix)  # its own answer
        else:
            assert isinstance(outcome, ServiceError) and outcome.code in ("UNAVAILABLE", "CANCELLED"), outcome
    return answered


async def test_drain_answers_every_call_the_service_accepted(tiny_model_dir: Path) -> None:
    cfg = make_config(model_dir=tiny_model_dir, server={"grace_s": 30},
                      batcher={"max_batch_size": 8, "max_queue": 4096})
    server = GuardServer(cfg)
    await server.start()
    async with AsyncGuardClient(server.target, timeout_s=60, retry=RetryPolicy(max_retries=0)) as client:
        calls = [asyncio.create_task(client.check(f"{i} {_LONG}")) for i in range(300)]
        await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
        stopping = asyncio.create_task(server.stop())
        late = [asyncio.create_task(client.check(f"late {i}")) for i in range(20)]
        outcomes = await asyncio.wait_for(asyncio.gather(*calls, *late, return_exceptions=True), 120)
        await stopping
    answered = _check_outcomes(outcomes, 300)
    reg = server.metrics.registry
    accepted = {s.labels["code"]: s.value for f in reg.collect() if f.name == "guard_requests"
                for s in f.samples if s.name == "guard_requests_total" and s.value}
    assert accepted == {"OK": answered}  # every call a handler took was answered; none cut off


async def test_sigterm_under_load_answers_every_accepted_call_then_restart(tiny_model_dir: Path) -> None:
    port = free_port()
    proc = await _spawn(tiny_model_dir, port)
    try:
        async with AsyncGuardClient(f"127.0.0.1:{port}", timeout_s=60,
                                    retry=RetryPolicy(max_retries=0)) as client:
            calls = [asyncio.create_task(client.check(f"{i} {_LONG}")) for i in range(300)]
            done, _ = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
            proc.send_signal(signal.SIGTERM)  # most calls are still queued or on the wire
            late = [asyncio.create_task(client.check(f"late {i}")) for i in range(20)]
            outcomes = await asyncio.wait_for(asyncio.gather(*calls, *late, return_exceptions=True), 120)
        code, err = await _finish(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0 and "Traceback" not in err, err
    answered = _check_outcomes(outcomes, 300)
    assert answered >= len(done)

    # Restart: a client retrying UNAVAILABLE is served by the new process on the same port.
    async with AsyncGuardClient(f"127.0.0.1:{port}", timeout_s=90,
                                retry=RetryPolicy(max_retries=200, backoff_s=0.05, max_backoff_s=0.25)) as c:
        waiting = asyncio.create_task(c.check("제 주민번호는 900101-1234568 이에요"))
        proc = await _spawn(tiny_model_dir, port)
        try:
            verdict = await waiting
            assert "P1" in verdict.categories
            proc.send_signal(signal.SIGTERM)
            code, err = await _finish(proc)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert code == 0 and "Traceback" not in err
