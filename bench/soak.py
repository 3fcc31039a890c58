"""Soak and overload run of the real sidecar on loopback: throughput, latency percentiles, the server's
memory over time, and the shed rate when the offered load exceeds capacity.

    .venv/bin/python -m bench.soak --steady-s 480 --overload-s 90          # ~10 minutes, writes the record
    .venv/bin/python -m bench.soak --tiny --steady-s 5 --overload-s 3 --no-write   # a smoke run

The server is `kguard serve` in its own process on 127.0.0.1 (its RSS read from /proc). Phase 1, steady:
`--concurrency` closed-loop callers send the chat workload back to back for `--steady-s`, while the
server's RSS is sampled every `--sample-s`. Phase 2, overload: an open loop offers `--overload-factor`
times the steady throughput for `--overload-s`, against a small queue (`--max-queue`); the server must
shed the excess with RESOURCE_EXHAUSTED at once instead of queueing it, and keep answering the rest.
The record goes to bench/SOAK_RESULTS.md and bench/results/soak.json. Bounded in time and count, loopback
only. tests/hardening/test_load_soak.py runs the same code at test size; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BENCH, RESULTS, load_workload, machine, machine_line, model_dir, percentiles, table
from guard.client import AsyncGuardClient, RetryPolicy
from guard.errors import GuardError, OverloadedError
from guard.verdict import Verdict

SOAK_MD = BENCH / "SOAK_RESULTS.md"


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
    workload: str = "chat"


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


async def run_soak(cfg: SoakConfig) -> dict[str, Any]:
    """Start the server, run both phases, stop it with SIGTERM; return every figure."""
    rows = load_workload(cfg.workload)
    texts = [(r.text, r.role) for r in rows]
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


def markdown(result: dict[str, Any], info: dict[str, Any], command: str) -> str:
    s, o, r = result["steady"], result["overload"], result["recovery"]
    mem, c = result["memory"], result["config"]
    samples = mem["samples"]
    step = max(1, len(samples) // 12)
    rows = [["steady", s["seconds"], s["offered"], s["ok"], s["shed"], sum(s["errors"].values()),
             s["throughput_rps"], s["latency"]["p50_ms"], s["latency"]["p95_ms"], s["latency"]["p99_ms"]],
            ["overload", o["seconds"], o["offered"], o["ok"], o["shed"], sum(o["errors"].values()),
             o["throughput_rps"], o["latency"]["p50_ms"], o["latency"]["p95_ms"], o["latency"]["p99_ms"]],
            ["recovery", r["seconds"], r["offered"], r["ok"], r["shed"], sum(r["errors"].values()),
             r["throughput_rps"], r["latency"]["p50_ms"], r["latency"]["p95_ms"], r["latency"]["p99_ms"]]]
    return "\n".join([
        "# Soak and overload record", "",
        f"Command: `{command}`", "", machine_line(info), "",
        f"Model: `{c['model_dir']}`; {c['concurrency']} closed-loop callers, queue {c['max_queue']}, "
        f"batch {c['max_batch_size']}; loopback only.", "",
        table(["phase", "s", "offered", "ok", "shed", "errors", "ok/s", "p50 ms", "p95 ms", "p99 ms"], rows),
        "", f"Overload offered {o['offered_rps']} req/s ({c['overload_factor']}x the steady throughput): "
        f"shed rate {100 * o['shed_rate']:.1f}% (RESOURCE_EXHAUSTED), errors {o['errors'] or 'none'}.",
        "", "Server memory (RSS, MB) over the steady phase:", "",
        table(["t (s)", "RSS MB"], [list(p) for p in samples[::step]] + [list(p) for p in samples[-1:]]),
        "", f"RSS growth after warm-up: {mem['slope_mb_per_min']} MB/min (least squares); at the end "
        f"{mem['end_mb']} MB.", "",
        f"Server side: {json.dumps(result['server'])}; exit code after SIGTERM {result['server_exit_code']}; "
        f"tracebacks on its stderr: {result['server_tracebacks']}.", ""])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the shipped model, else the bench export)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model (a smoke run)")
    p.add_argument("--steady-s", type=float, default=480.0)
    p.add_argument("--overload-s", type=float, default=90.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--overload-factor", type=float, default=3.0)
    p.add_argument("--max-queue", type=int, default=64)
    p.add_argument("--sample-s", type=float, default=10.0)
    p.add_argument("--no-write", action="store_true", help="print only; keep the record")
    args = p.parse_args(argv)
    cfg = SoakConfig(model_dir=model_dir(args.model, tiny=args.tiny), steady_s=args.steady_s,
                     overload_s=args.overload_s, concurrency=args.concurrency,
                     overload_factor=args.overload_factor, max_queue=args.max_queue, sample_s=args.sample_s)
    result = asyncio.run(run_soak(cfg))
    info = machine()
    command = "python -m bench.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(result, info, command)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "soak.json").write_text(json.dumps({"result": result, "machine": info}, indent=2))
        SOAK_MD.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
