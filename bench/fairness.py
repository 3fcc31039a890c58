"""One caller against everyone: small checks beside maximum-size ones, memory after a burst, the event loop
under large payloads, and the exit under SIGTERM with a maximum-size text in progress (issue 13, item 3,
7, 9).

    .venv/bin/python -m bench.fairness                      # every scenario, ~4 minutes; writes the record
    .venv/bin/python -m bench.fairness --only small_p99     # one scenario, prints only (no record)
    .venv/bin/python -m bench.fairness --tiny               # smoke run: the tests' tiny model, short phases

Each scenario starts its own `kguard serve` process on 127.0.0.1 (defaults of the sidecar, the shipped
model) and uses the real client. Scenarios:

  small_p99  small checks (chat turns, 4 closed-loop callers) alone, then beside two checks of 200,000
             characters without a deadline (they run the whole phase), then beside two with a 3 s
             deadline: p50/p99 of the small ones and what became of the big ones.
  memory     RSS after warm-up, then 64 maximum-size checks at once (3 s deadline), then RSS 2 s and 10 s
             after the last one ended: how far it returns to the baseline.
  stall      health checks every 5 ms while a 3.9 MB CheckBatch, then a Check with a 200,000-character
             context, is served: the slowest health answer.
  sigterm    one maximum-size check in progress, SIGTERM with --grace 3: seconds from the signal to exit.

Nothing here asserts a timing; the tests assert the orderings (tests/hardening/test_fairness.py).
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
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import (
    BENCH,
    RESULTS,
    WORK,
    load_workload,
    machine,
    machine_line,
    model_dir,
    percentiles,
    rss_mb,
    table,
)
from guard._proto.v1 import guard_pb2 as pb
from guard._proto.v1 import guard_pb2_grpc as pb_grpc
from guard.client import AsyncGuardClient, RetryPolicy
from guard.errors import GuardError

FAIRNESS_MD = BENCH / "FAIRNESS_RESULTS.md"
MAX_CHARS = 200_000


def long_text(n: int = MAX_CHARS) -> str:
    """`n` characters of the documents workload (Korean prose with identifiers), repeated."""
    docs = " ".join(r.text for r in load_workload("docs"))
    return (docs * (n // len(docs) + 1))[:n]


class Sidecar:
    """`kguard serve` on 127.0.0.1 with a free port; RSS from /proc; stderr kept."""

    def __init__(self, model: Path, *extra: str) -> None:
        self.model = model
        self.extra = extra
        self.proc: asyncio.subprocess.Process | None = None
        self.target = ""
        self.stderr: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sidecar:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "guard.cli", "serve", "--model", str(self.model), "--port", "0",
            "--metrics-port", "-1", *self.extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        assert self.proc.stderr is not None
        try:
            while True:
                line = (await asyncio.wait_for(self.proc.stderr.readline(), 180)).decode()
                if not line:
                    raise RuntimeError("kguard serve exited: " + "".join(self.stderr))
                self.stderr.append(line)
                match = re.search(r"serving ([^\s,]+)", line)
                if match:
                    self.target = match.group(1)
                    break
        except BaseException:
            self.proc.kill()
            await self.proc.wait()
            raise
        self._drain = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr.append(line.decode())

    def rss_mb(self) -> float:
        assert self.proc is not None
        return rss_mb(self.proc.pid)["rss_mb"]

    async def terminate(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds to exit)."""
        assert self.proc is not None
        start = time.perf_counter()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 300)
        return code, round(time.perf_counter() - start, 2)

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.terminate()
        if self._drain is not None:
            self._drain.cancel()


def _code_name(exc: GuardError) -> str:
    return {"InputError": "INVALID_ARGUMENT", "OverloadedError": "RESOURCE_EXHAUSTED",
            "DeadlineError": "DEADLINE_EXCEEDED"}.get(type(exc).__name__, str(getattr(exc, "code", "?")))


async def _small_load(client: AsyncGuardClient, texts: list[str], seconds: float, callers: int = 4,
                      ) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    until = time.perf_counter() + seconds

    async def caller(k: int) -> None:
        i = k
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            try:
                await client.check(texts[i % len(texts)], timeout_s=10)
                latencies.append(time.perf_counter() - t0)
            except GuardError as exc:
                errors[_code_name(exc)] = errors.get(_code_name(exc), 0) + 1
            i += callers

    await asyncio.gather(*(caller(k) for k in range(callers)))
    return {**(percentiles(latencies) if latencies else {"n": 0}), "errors": errors}


async def small_p99(model: Path, seconds: float) -> dict[str, Any]:
    texts = [r.text for r in load_workload("chat", 400)]
    big = long_text()
    out: dict[str, Any] = {}
    async with Sidecar(model) as server, AsyncGuardClient(server.target, timeout_s=600,
                                                         retry=RetryPolicy(max_retries=0)) as client:
        await client.check("warm up")
        out["alone"] = await _small_load(client, texts, seconds)
        running = [asyncio.create_task(_timed(client.check(big, timeout_s=600))) for _ in range(2)]
        await asyncio.sleep(0.5)
        out["beside_2_long_no_deadline"] = await _small_load(client, texts, seconds)
        out["long_still_running_at_end"] = sum(not t.done() for t in running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.sleep(1.0)
        dl = [asyncio.create_task(_timed(client.check(big, timeout_s=3))) for _ in range(2)]
        out["beside_2_long_3s_deadline"] = await _small_load(client, texts, seconds)
        out["long_3s_deadline_outcomes"] = list(await asyncio.gather(*dl))
        out["after"] = await _small_load(client, texts, min(seconds, 5.0))
    return out


async def _timed(call: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        await call
        code = "OK"
    except GuardError as exc:
        code = _code_name(exc)
    return {"code": code, "s": round(time.perf_counter() - t0, 2)}


async def memory(model: Path, calls: int = 64, settle_s: float = 10.0) -> dict[str, Any]:
    big = long_text()
    async with Sidecar(model) as server, AsyncGuardClient(server.target, timeout_s=600,
                                                         retry=RetryPolicy(max_retries=0)) as client:
        texts = [r.text for r in load_workload("chat", 200)]
        for t in texts:  # steady state first: arenas and caches of ordinary traffic
            await client.check(t)
        await asyncio.sleep(1.0)
        baseline = server.rss_mb()
        peak = baseline
        burst = [asyncio.create_task(_timed(client.check(big, timeout_s=3))) for _ in range(calls)]
        while not all(t.done() for t in burst):
            peak = max(peak, server.rss_mb())
            await asyncio.sleep(0.1)
        outcomes: dict[str, int] = {}
        for r in await asyncio.gather(*burst):
            outcomes[r["code"]] = outcomes.get(r["code"], 0) + 1
        await asyncio.sleep(2.0)
        after_2s = server.rss_mb()
        await asyncio.sleep(max(0.0, settle_s - 2.0))
        after_10s = server.rss_mb()
    return {"calls": calls, "baseline_mb": baseline, "peak_mb": peak, "after_2s_mb": after_2s,
            "after_10s_mb": after_10s, "after_10s_vs_baseline": round(after_10s / baseline, 3),
            "outcomes": outcomes}


async def stall(model: Path, items: int = 256) -> dict[str, Any]:
    prose = long_text(5_000)
    batch = pb.CheckBatchRequest(texts=[prose] * items)  # 256: ~3.9 MB of UTF-8
    context = pb.CheckRequest(text="이 답변을 확인해 주세요.", role="assistant", context=long_text())
    out: dict[str, Any] = {"batch_bytes": batch.ByteSize(), "context_bytes": context.ByteSize()}
    async with Sidecar(model) as server, grpc.aio.insecure_channel(
            server.target, options=[("grpc.max_send_message_length", 8 << 20),
                                    ("grpc.max_receive_message_length", 8 << 20)]) as channel:
        stub = pb_grpc.GuardStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        await stub.Check(pb.CheckRequest(text="warm up"))
        for name, call in (("check_batch_3_9mb", lambda: stub.CheckBatch(batch, timeout=600)),
                           ("check_200k_context", lambda: stub.Check(context, timeout=600))):
            task = asyncio.ensure_future(call())
            worst, n = 0.0, 0
            while not task.done():
                t0 = time.perf_counter()
                await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=60)
                worst, n = max(worst, time.perf_counter() - t0), n + 1
                await asyncio.sleep(0.005)
            code = "OK"
            try:
                await task
            except grpc.aio.AioRpcError as exc:
                code = exc.code().name
            out[name] = {"code": code, "health_checks": n, "slowest_health_ms": round(1000 * worst, 1)}
    return out


async def sigterm(model: Path, grace: float = 3.0) -> dict[str, Any]:
    big = long_text()
    async with Sidecar(model, "--grace", str(grace)) as server, AsyncGuardClient(
            server.target, timeout_s=600, retry=RetryPolicy(max_retries=0)) as client:
        await client.check("warm up")
        running = asyncio.create_task(_timed(client.check(big)))
        await asyncio.sleep(1.5)  # computing by now
        code, seconds = await server.terminate()
        outcome = await running
    return {"grace_s": grace, "exit_code": code, "exit_after_s": seconds, "long_check": outcome,
            "tracebacks": sum("Traceback" in line for line in server.stderr)}


SCENARIOS = ("small_p99", "memory", "stall", "sigterm")


def markdown(result: dict[str, Any], info: dict[str, Any], command: str) -> str:
    lines = ["# Fairness, memory, event loop and exit record (bench/fairness.py)", "",
             f"Command: `{command}`", "", machine_line(info), ""]
    if "small_p99" in result:
        r = result["small_p99"]
        rows = [[k, v.get("n", 0), v.get("p50_ms", "-"), v.get("p99_ms", "-"), json.dumps(v["errors"])]
                for k, v in r.items() if isinstance(v, dict) and "errors" in v]
        lines += ["## Small checks beside two 200,000-character checks", "",
                  table(["phase", "n", "p50 ms", "p99 ms", "errors"], rows), "",
                  f"Long checks still running at the end of their phase: {r['long_still_running_at_end']} of 2. "
                  f"With a 3 s deadline: {r['long_3s_deadline_outcomes']}.", ""]
    if "memory" in result:
        m = result["memory"]
        lines += [f"## Memory after {m['calls']} maximum-size checks at once (3 s deadline)", "",
                  table(["baseline MB", "peak MB", "+2 s MB", "+10 s MB", "+10 s / baseline", "outcomes"],
                        [[m["baseline_mb"], m["peak_mb"], m["after_2s_mb"], m["after_10s_mb"],
                          m["after_10s_vs_baseline"], json.dumps(m["outcomes"])]]), ""]
    if "stall" in result:
        s = result["stall"]
        rows = [[k, v["code"], v["health_checks"], v["slowest_health_ms"]] for k, v in s.items()
                if isinstance(v, dict)]
        lines += ["## Health while large payloads are served", "",
                  table(["request", "status", "health checks", "slowest health ms"], rows), ""]
    if "sigterm" in result:
        t = result["sigterm"]
        lines += ["## SIGTERM with a maximum-size check in progress", "",
                  f"--grace {t['grace_s']}: exit code {t['exit_code']} after {t['exit_after_s']} s; the "
                  f"long check ended {t['long_check']}; tracebacks {t['tracebacks']}.", ""]
    return "\n".join(lines)


async def run(model: Path, only: list[str], seconds: float, tiny: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in only:
        if name == "small_p99":
            out[name] = await small_p99(model, seconds)
        elif name == "memory":
            out[name] = await (memory(model, calls=8, settle_s=2.0) if tiny else memory(model))
        elif name == "stall":
            out[name] = await stall(model, items=16 if tiny else 256)
        elif name == "sigterm":
            out[name] = await sigterm(model)
        print(json.dumps({name: out[name]}, ensure_ascii=False), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model (a smoke run, no record)")
    p.add_argument("--only", action="append", choices=SCENARIOS, help="run only this scenario (repeatable)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each small-check phase")
    args = p.parse_args(argv)
    if args.tiny:  # the tiny lookup-table model even when the shipped one is there: a quick smoke run
        from tests.support.tinymodel import build_tiny_model

        model = build_tiny_model(WORK / "tiny-model")
        args.seconds = min(args.seconds, 1.0)
    else:
        model = model_dir(args.model)
    result = asyncio.run(run(model, args.only or list(SCENARIOS), args.seconds, args.tiny))
    info = machine()
    command = "python -m bench.fairness " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(result, info, command)
    print(text)
    if not args.only and not args.tiny:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "fairness.json").write_text(json.dumps({"result": result, "machine": info}, indent=2,
                                                          ensure_ascii=False))
        FAIRNESS_MD.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
