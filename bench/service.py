"""Scenario (b): the gRPC sidecar on loopback under a bounded load generator.

The real server (`kguard serve`, guard.server.app) runs in its own process; this process is the load:
AsyncGuardClient, one channel per concurrent client. Per number of clients C (1, 16, 64):
    saturation  C closed-loop clients for a while: achieved requests/s, latency p50/p95/p99
    offered     Poisson arrivals at a fixed rate, at most C in flight (an arrival finding all C busy is
                counted as not sent): offered against achieved rate and latency from the arrival instant
and one streaming case: LLM answers sent in small chunks at a steady pace through CheckStream (lag of
the final verdict after the last chunk). Batch sizes come from the server's own guard_batch_size
histogram (metrics endpoint, difference before/after each phase); resident memory from /proc. The same
run measures in-process AsyncGuard saturation first, for the service/in-process ratio.
Client and server share the machine's cores: the generator's own CPU use is part of every figure, and each
phase records the cores the generator and the server used (CPU seconds per second of the phase).
`--max-concurrent-batches N` is passed to `kguard serve` (and used for the in-process figure): run the
command once per setting to compare them (each run rewrites the same results).

    python -m bench.service [--model DIR] [--seconds S] [--long] [--tiny] [--max-concurrent-batches N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Row, load_workload, model_dir, percentiles, process_cpu_s, report, rss_mb, table
from guard.client import AsyncGuardClient
from guard.config import BatcherConfig, EngineConfig, GuardConfig, serve_defaults
from guard.sdk import AsyncGuard
from guard.server.app import probe

OFFERED = {1: (100.0,), 16: (100.0, 300.0, 600.0), 64: (300.0, 1000.0)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: Path, port: int, metrics_port: int, concurrent: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "guard.cli",
        "serve",
        "--model",
        str(folder),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--max-concurrent-batches",
        str(concurrent),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while probe(f"127.0.0.1:{port}", timeout_s=1.0) != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            proc.kill()
            raise SystemExit(f"server did not become SERVING:\n{err}")
        time.sleep(0.2)
    return proc


def batch_histogram(metrics_port: int) -> dict[str, float]:
    """Cumulative guard_batch_size buckets (le -> count), plus _sum and _count."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    out = {
        le: float(v) for le, v in re.findall(r'^guard_batch_size_bucket\{le="([^"]+)"\} (\S+)$', body, re.M)
    }
    for name in ("sum", "count"):
        found = re.search(rf"^guard_batch_size_{name} (\S+)$", body, re.M)
        out[name] = float(found.group(1)) if found else 0.0
    return out


def batch_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Batches per size bucket during a phase, and the mean batch size."""
    diff = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    les = [k for k in diff if k not in ("sum", "count")]
    buckets, previous = {}, 0.0
    for le in sorted(les, key=lambda x: float("inf") if x == "+Inf" else float(x)):
        buckets[f"<={le}"] = int(diff[le] - previous)
        previous = diff[le]
    return {
        "batches": int(diff.get("count", 0)),
        "mean": diff.get("sum", 0) / max(1.0, diff.get("count", 0)),
        "buckets": {k: v for k, v in buckets.items() if v},
    }


async def closed_loop(
    clients: Sequence[AsyncGuardClient], texts: list[str], seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker(k: int, client: AsyncGuardClient) -> None:
        nonlocal errors
        i = k
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                await client.check(texts[i % len(texts)])
                latencies.append(time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - counted; the figure is how many succeeded
                errors += 1
            i += len(clients)

    started = time.perf_counter()
    await asyncio.gather(*(worker(k, c) for k, c in enumerate(clients)))
    elapsed = time.perf_counter() - started
    return {
        "achieved_rps": len(latencies) / elapsed,
        "errors": errors,
        "latency": percentiles(latencies or [0.0]),
    }


async def open_loop(
    clients: Sequence[AsyncGuardClient], texts: list[str], rate: float, seconds: float, seed: int
) -> dict[str, Any]:
    """Poisson arrivals at `rate`; at most len(clients) in flight; latency counted from the arrival."""
    rng = random.Random(seed)
    idle = list(clients)
    latencies: list[float] = []
    not_sent = errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(client: AsyncGuardClient, text: str, arrival: float) -> None:
        nonlocal errors
        try:
            await client.check(text)
            latencies.append(time.perf_counter() - arrival)
        except Exception:  # noqa: BLE001 - counted
            errors += 1
        finally:
            idle.append(client)

    started = time.perf_counter()
    arrival, i = started, 0
    while arrival < started + seconds:
        arrival += rng.expovariate(rate)
        delay = arrival - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle:
            not_sent += 1
            continue
        task = asyncio.create_task(one(idle.pop(), texts[i % len(texts)], arrival))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {
        "offered_rps": rate,
        "achieved_rps": len(latencies) / elapsed,
        "not_sent": not_sent,
        "errors": errors,
        "latency": percentiles(latencies or [0.0]),
    }


async def streams(target: str, answers: list[Row], n: int, chunk_chars: int, pace_s: float) -> dict[str, Any]:
    """Answers streamed chunk by chunk at a steady pace; lag of the verdict after the last chunk."""
    lags, totals, updates = [], [], 0
    async with AsyncGuardClient(target, timeout_s=60) as client:
        for k in range(n):
            row = answers[k % len(answers)]
            last_sent = [0.0]

            async def chunks(text: str = row.text, last_sent: list[float] = last_sent):  # type: ignore[no-untyped-def]
                for i in range(0, len(text), chunk_chars):
                    yield text[i : i + chunk_chars]
                    last_sent[0] = time.perf_counter()
                    await asyncio.sleep(pace_s)

            started = time.perf_counter()
            async for update in client.check_stream(chunks(), context=row.context):
                updates += 1
                if update.verdict is not None:
                    lags.append(time.perf_counter() - last_sent[0] - pace_s)
            totals.append(time.perf_counter() - started)
    mean_chars = sum(len(answers[k % len(answers)].text) for k in range(n)) / n
    return {
        "streams": n,
        "chunk_chars": chunk_chars,
        "pace_ms": pace_s * 1000,
        "mean_answer_chars": mean_chars,
        "updates_per_stream": updates / n,
        "verdict_lag_after_last_chunk": percentiles(lags or [0.0]),
        "stream_total": percentiles(totals),
    }


async def inprocess_saturation(folder: Path, texts: list[str], callers: int, seconds: float,
                               concurrent: int) -> float:
    config = GuardConfig(engine=EngineConfig(model_dir=folder),
                         batcher=BatcherConfig(max_concurrent_batches=concurrent))
    async with AsyncGuard(folder, config=config) as guard:
        done, stop_at = 0, time.perf_counter() + seconds

        async def caller(k: int) -> None:
            nonlocal done
            i = k
            while time.perf_counter() < stop_at:
                await guard.check(texts[i % len(texts)])
                done += 1
                i += callers

        started = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(callers)))
        return done / (time.perf_counter() - started)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = model_dir(args.model, tiny=args.tiny)
    texts = [r.text for r in load_workload("chat", 64 if args.tiny else 2000)]
    answers = load_workload("answers", 8 if args.tiny else 300)
    sec = args.seconds or (0.5 if args.tiny else 20.0 if args.long else 5.0)
    concurrent = args.max_concurrent_batches
    if concurrent is None:
        concurrent = serve_defaults().batcher.max_concurrent_batches
    inproc = await inprocess_saturation(folder, texts, 64, sec, concurrent)
    port, metrics_port = free_port(), free_port()
    proc = start_server(folder, port, metrics_port, concurrent)
    target = f"127.0.0.1:{port}"
    out: dict[str, Any] = {
        "model": str(folder),
        "seconds_per_phase": sec,
        "max_concurrent_batches": concurrent,
        "inprocess_asyncguard_64_rps": inproc,
        "phases": [],
        "memory": {"at_rest": rss_mb(proc.pid)},
    }
    try:
        peak_rss = 0.0
        for c in (1, 16, 64):
            clients = [AsyncGuardClient(target, timeout_s=30) for _ in range(c)]
            await closed_loop(clients, texts, min(1.0, sec))  # warm the channels
            plans: list[tuple[str, float | None]] = [
                ("saturation", None),
                *[("offered", r) for r in OFFERED[c]],
            ]
            for kind, rate in plans:
                before = batch_histogram(metrics_port)
                cpu_before = (time.perf_counter(), process_cpu_s(), process_cpu_s(proc.pid))
                result = (
                    await closed_loop(clients, texts, sec)
                    if rate is None
                    else await open_loop(clients, texts, rate, sec, seed=c)
                )
                result["cores"] = cores_used(cpu_before, proc.pid)
                peak_rss = max(peak_rss, rss_mb(proc.pid)["rss_mb"])
                out["phases"].append(
                    {
                        "clients": c,
                        "kind": kind,
                        **result,
                        "batch_size": batch_delta(before, batch_histogram(metrics_port)),
                    }
                )
            for client in clients:
                await client.close()
        before = batch_histogram(metrics_port)
        out["stream"] = await streams(target, answers, 3 if args.tiny else 20, 8, 0.005)
        out["stream"]["batch_size"] = batch_delta(before, batch_histogram(metrics_port))
        out["memory"]["under_load_max_sampled"] = peak_rss
        out["memory"]["end"] = rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def cores_used(before: tuple[float, float, float], server_pid: int) -> dict[str, float]:
    """Cores the load generator (this process) and the server used on average since `before`."""
    wall = max(1e-9, time.perf_counter() - before[0])
    return {"generator": round((process_cpu_s() - before[1]) / wall, 2),
            "server": round((process_cpu_s(server_pid) - before[2]) / wall, 2)}


def markdown(res: dict[str, Any]) -> str:
    sat = max((p["achieved_rps"] for p in res["phases"] if p["kind"] == "saturation"), default=0.0)
    rows = [
        [
            p["clients"],
            "closed loop" if p["kind"] == "saturation" else f"{p['offered_rps']:.0f}/s",
            p["achieved_rps"],
            p.get("not_sent", 0),
            p["errors"],
            p["latency"]["p50_ms"],
            p["latency"]["p95_ms"],
            p["latency"]["p99_ms"],
            p["batch_size"]["mean"],
            p["cores"]["generator"],
            p["cores"]["server"],
            " ".join(f"{k}:{v}" for k, v in p["batch_size"]["buckets"].items()),
        ]
        for p in res["phases"]
    ]
    s = res["stream"]
    lag, inproc = s["verdict_lag_after_last_chunk"], res["inprocess_asyncguard_64_rps"]
    mem = res["memory"]
    return "\n".join(
        [
            f"Server: `kguard serve --max-concurrent-batches {res['max_concurrent_batches']}` on loopback, "
            "one process; "
            "load: AsyncGuardClient, one channel per client, "
            f"{res['seconds_per_phase']:.0f} s per phase, in this process (same 2 cores). Cores: CPU "
            "seconds per second of the phase, of the load generator (this process) and of the server.",
            "",
            table(
                [
                    "clients",
                    "offered",
                    "achieved req/s",
                    "not sent",
                    "errors",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "mean batch",
                    "generator cores",
                    "server cores",
                    "batches by size (guard_batch_size)",
                ],
                rows,
            ),
            "",
            f"Saturation: best {sat:,.0f} req/s over gRPC against {inproc:,.0f} texts/s in-process "
            f"(AsyncGuard, 64 callers, same run): **{sat / max(1.0, inproc):.0%}**.",
            "",
            f"Streaming: {s['streams']} answers of {s['mean_answer_chars']:.0f} characters on average, "
            f"chunks of {s['chunk_chars']} characters every {s['pace_ms']:.0f} ms through CheckStream: "
            f"{s['updates_per_stream']:.1f} updates per stream; verdict after the last chunk "
            f"p50 {lag['p50_ms']:.1f} ms, p99 {lag['p99_ms']:.1f} ms; "
            f"mean batch {s['batch_size']['mean']:.1f}.",
            "",
            f"Server memory (RSS): {mem['at_rest']['rss_mb']:.0f} MB at rest after warm-up, "
            f"{mem['under_load_max_sampled']:.0f} MB highest sampled under load, "
            f"peak {mem['end']['peak_mb']:.0f} MB.",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--seconds", type=float, help="seconds per phase (default 5)")
    parser.add_argument("--long", action="store_true", help="20 s per phase")
    parser.add_argument("--tiny", action="store_true", help="short phases: keeps the command working")
    parser.add_argument("--max-concurrent-batches", type=int,
                        help="batches the server computes at once (default: the server's)")
    args = parser.parse_args(argv)
    res = asyncio.run(run(args))
    text = markdown(res)
    print(text)
    report("service", res, text, smoke=args.tiny)


if __name__ == "__main__":
    main()
