"""The soak harness: a real `kguard serve` process on loopback under steady load, then overload, then
steady again, with its memory sampled. Shared by bench/soak.py (the recorded run) and
tests/hardening/test_load_soak.py (the same code at test size); nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from guard.client import AsyncGuardClient, RetryPolicy
from guard.errors import GuardError, OverloadedError
from guard.verdict import Verdict
from tests.support.stats import percentiles


@dataclass(frozen=True, kw_only=True)
class SoakConfig:
    """One soak run."""

    model_dir: Path
    steady_s: float = 480.0
    overload_s: float = 90.0
    concurrency: int = 16
    overload_factor: float = 3.0
    max_queue: int = 64
    max_batch_size: int = 32
    sample_s: float = 10.0
    timeout_s: float = 10.0


@dataclass
class Phase:
    """What the callers saw in one phase."""

    seconds: float = 0.0
    offered: int = 0
    ok: int = 0
    shed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: dict[str, str] = field(default_factory=dict)  # one message per kind (no text in them)
    latencies_s: list[float] = field(default_factory=list)

    def record(self, outcome: object, latency_s: float) -> None:
        if isinstance(outcome, Verdict):
            self.ok += 1
            self.latencies_s.append(latency_s)
        elif isinstance(outcome, OverloadedError):
            self.shed += 1
        else:
            name = getattr(outcome, "code", type(outcome).__name__)
            self.errors[name] = self.errors.get(name, 0) + 1
            self.error_examples.setdefault(name, str(outcome)[:200])

    def summary(self) -> dict[str, Any]:
        answered = {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0, "n": 0}
        if self.latencies_s:
            answered = percentiles(self.latencies_s)
        return {"seconds": round(self.seconds, 1), "offered": self.offered, "ok": self.ok, "shed": self.shed,
                "errors": self.errors, "error_examples": self.error_examples,
                "throughput_rps": round(self.ok / max(self.seconds, 1e-9), 1),
                "shed_rate": round(self.shed / max(self.offered, 1), 4), "latency": answered}


class Server:
    """`kguard serve` in a child process on 127.0.0.1 with a metrics port; stderr drained to a list."""

    def __init__(self, cfg: SoakConfig) -> None:
        self.cfg = cfg
        self.proc: asyncio.subprocess.Process | None = None
        self.target = ""
        self.metrics_url = ""
        self.stderr: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "guard.cli", "serve", "--model", str(self.cfg.model_dir), "--host",
            "127.0.0.1", "--port", "0", "--metrics-host", "127.0.0.1", "--metrics-port", "0", "--max-queue",
            str(self.cfg.max_queue), "--max-batch-size", str(self.cfg.max_batch_size), "--grace", "30",
            stderr=subprocess.PIPE, env=env)
        assert self.proc.stderr is not None
        while True:
            line = (await asyncio.wait_for(self.proc.stderr.readline(), 180)).decode()
            if not line:
                raise RuntimeError("kguard serve exited: " + "".join(self.stderr))
            self.stderr.append(line)
            match = re.search(r"serving (\S+), metrics on (\S+)", line)
            if match:
                self.target, self.metrics_url = match.group(1), f"http://{match.group(2)}/metrics"
                break
        self._drain = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr.append(line.decode())

    def rss_mb(self) -> float:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        return round(int(match.group(1)) / 1024.0, 1) if match else 0.0

    async def metrics(self) -> dict[str, float]:
        """guard_requests_total summed by code, and the queue depth, from the live exposition."""
        def scrape() -> str:
            with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
                return str(response.read().decode())

        text = await asyncio.to_thread(scrape)
        out: dict[str, float] = {}
        for m in re.finditer(r'^guard_requests_total\{([^}]*)\} (\S+)$', text, re.M):
            code = re.search(r'code="([^"]+)"', m.group(1))
            key = f"requests_{code.group(1) if code else '?'}"
            out[key] = out.get(key, 0.0) + float(m.group(2))
        depth = re.search(r"^guard_queue_depth (\S+)$", text, re.M)
        out["queue_depth"] = float(depth.group(1)) if depth else -1.0
        return out

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 90)
        if self._drain is not None:
            await asyncio.wait_for(self._drain, 30)
        return code


async def _steady(client: AsyncGuardClient, server: Server, cfg: SoakConfig, texts: list[tuple[str, str]],
                  memory: list[tuple[float, float]]) -> Phase:
    phase = Phase()
    start = time.perf_counter()
    until = start + cfg.steady_s

    async def caller(k: int) -> None:
        i = k
        while time.perf_counter() < until:
            text, role = texts[i % len(texts)]
            i += cfg.concurrency
            t0 = time.perf_counter()
            phase.offered += 1
            try:
                outcome: object = await client.check(text, role=role)
            except GuardError as exc:
                outcome = exc
            phase.record(outcome, time.perf_counter() - t0)

    async def sampler() -> None:
        while time.perf_counter() < until:
            memory.append((round(time.perf_counter() - start, 1), server.rss_mb()))
            await asyncio.sleep(cfg.sample_s)

    await asyncio.gather(sampler(), *(caller(k) for k in range(cfg.concurrency)))
    memory.append((round(time.perf_counter() - start, 1), server.rss_mb()))
    phase.seconds = time.perf_counter() - start
    return phase


async def _overload(client: AsyncGuardClient, cfg: SoakConfig, texts: list[tuple[str, str]],
                    rate_rps: float) -> Phase:
    """Open loop: `rate_rps` requests per second whatever the answers, for cfg.overload_s."""
    phase = Phase()
    tick_s = 0.01
    pending: set[asyncio.Task[None]] = set()

    async def one(text: str, role: str) -> None:
        t0 = time.perf_counter()
        try:
            outcome: object = await client.check(text, role=role)
        except GuardError as exc:
            outcome = exc
        phase.record(outcome, time.perf_counter() - t0)

    start = time.perf_counter()
    sent, i = 0, 0
    while (now := time.perf_counter()) < start + cfg.overload_s:
        due = int((now - start) * rate_rps) - sent
        for _ in range(max(due, 0)):
            text, role = texts[i % len(texts)]
            i += 1
            task = asyncio.create_task(one(text, role))
            pending.add(task)
            task.add_done_callback(pending.discard)
        sent += max(due, 0)
        await asyncio.sleep(tick_s)
    phase.offered = sent
    if pending:
        await asyncio.wait(pending, timeout=cfg.timeout_s * 3)
    phase.seconds = time.perf_counter() - start
    return phase


def _slope_mb_per_min(memory: list[tuple[float, float]]) -> float:
    """Least-squares RSS growth after the first fifth (warm-up: arenas, caches, the first batches)."""
    points = memory[len(memory) // 5:]
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(m for _, m in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 0.0 if var == 0 else 60.0 * sum((t - mx) * (m - my) for t, m in points) / var


async def run_soak(cfg: SoakConfig, texts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Start the server, run both phases with `texts` ((text, role) pairs, sent round robin), stop it
    with SIGTERM; return every figure."""
    texts = list(texts)
    server = Server(cfg)
    await server.start()
    memory: list[tuple[float, float]] = []
    try:
        async with AsyncGuardClient(server.target, timeout_s=cfg.timeout_s,
                                    retry=RetryPolicy(max_retries=0)) as client:
            await client.check("warm up", role="user")
            steady = await _steady(client, server, cfg, texts, memory)
            rate = cfg.overload_factor * steady.ok / max(steady.seconds, 1e-9)
            overload = await _overload(client, cfg, texts, rate)
            short = SoakConfig(**{**asdict(cfg), "steady_s": min(cfg.steady_s, 5.0)})
            after = await _steady(client, server, short, texts, [])
        server_counts = await server.metrics()
        rss_end = server.rss_mb()
    finally:
        exit_code = await server.stop()
    return {"config": {k: str(v) for k, v in asdict(cfg).items()}, "steady": steady.summary(),
            "overload": {**overload.summary(), "offered_rps": round(rate, 1)},
            "recovery": after.summary(), "memory": {"samples": memory, "end_mb": rss_end,
                                                    "slope_mb_per_min": round(_slope_mb_per_min(memory), 3)},
            "server": server_counts, "server_exit_code": exit_code,
            "server_tracebacks": sum("Traceback" in line for line in server.stderr)}
