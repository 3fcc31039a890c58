"""Shared parts of the benchmark scenarios: the workload, the machine record, statistics and reports.

Every scenario (bench.inprocess, bench.service, bench.baselines, bench.roofline) prints a table, writes
bench/results/<scenario>.json (figures + machine + command line) and rewrites its own section of
bench/RESULTS.md between `<!-- <scenario>:start -->` and `<!-- <scenario>:end -->` markers, so each
command regenerates exactly what it measured. Benchmarks are not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.config import default_model_dir
from tests.support.stats import percentiles  # noqa: F401  (the benchmarks import it from here)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"
WORK = BENCH / ".work"  # bench-only exports (gitignored)
SHIPPED_MODEL = default_model_dir()
BASE_MODEL = ROOT / "training" / "work" / "base" / "me5s-koen"
WORKLOADS = ("chat", "answers", "docs")
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_FLAGS = ("avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


@dataclass(frozen=True)
class Row:
    """One text of the workload (bench/data/*.jsonl)."""

    id: str
    kind: str
    role: str
    context: str
    text: str
    pii: list[tuple[int, int, str]]


def load_workload(name: str, limit: int | None = None) -> list[Row]:
    """The rows of bench/data/<name>.jsonl (first `limit` of them)."""
    if name not in WORKLOADS:
        raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    rows = []
    with (DATA / f"{name}.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            raw = json.loads(line)
            rows.append(
                Row(
                    raw["id"],
                    raw["kind"],
                    raw["role"],
                    raw["context"],
                    raw["text"],
                    [(int(s), int(e), str(t)) for s, e, t in raw["pii"]],
                )
            )
            if limit is not None and len(rows) >= limit:
                break
    return rows


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model and the flags that matter for int8, versions, load."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        info["cpu"] = fields.get("Model name", "?").strip()
        flags = set(fields.get("Flags", "").split())
        info["flags"] = {f: f in flags for f in _FLAGS}
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = platform.processor() or "?"
    for module in ("onnxruntime", "numpy", "tokenizers", "grpc", "torch", "presidio_analyzer", "spacy"):
        mod = sys.modules.get(module)
        if mod is not None:
            info[module] = getattr(mod, "__version__", "?")
    info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    info["others_cores"] = round(others_cores(), 2)
    info["contended"] = contended()
    return info


def _cpu_seconds() -> tuple[float, float, float]:
    """(wall clock, CPU seconds busy on the whole machine, CPU seconds of this process and its children)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    busy = (user + nice + system + irq + softirq + steal) / _CLK_TCK
    own = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    return time.monotonic(), busy, own


_START = _cpu_seconds()


def others_cores() -> float:
    """Cores used on average by other processes since this run started (0 on a quiet machine)."""
    wall, busy, own = _cpu_seconds()
    return max(0.0, ((busy - _START[1]) - (own - _START[2])) / max(1e-9, wall - _START[0]))


def process_cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) a process has used so far: this one by default."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def contended() -> list[str]:
    """Other CPU-heavy processes we know of (a training run): figures taken beside them are not clean."""
    try:
        # any training script (also ones run from elsewhere, e.g. /tmp/x/train3.py), tests, other benchmarks
        pattern = r"train|pytest|bench\."
        out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout
    except OSError:
        return []
    ours = {str(os.getpid()), str(os.getppid())}  # this run and what launched it (a shell, `timeout`)
    return [line.split(" ", 1)[1][:80] for line in out.splitlines() if line.split(" ")[0] not in ours]


async def closed_loop_checks(guard: Any, texts: Sequence[str], callers: int, seconds: float) -> dict[str, Any]:
    """`callers` closed-loop callers of one message each on one AsyncGuard for `seconds`: texts/s and
    per-call latency."""
    import asyncio

    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def loop(k: int) -> None:
        i = k
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await guard.check(texts[i % len(texts)])
            latencies.append(time.perf_counter() - started)
            i += callers

    started = time.perf_counter()
    await asyncio.gather(*(loop(k) for k in range(callers)))
    return {"texts_per_s": len(latencies) / (time.perf_counter() - started), "latency": percentiles(latencies)}


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median with min and max: how repeated runs are quoted."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def throughput(fn: Callable[[], int], *, repeats: int, min_time_s: float = 0.0) -> dict[str, float]:
    """Items per second of `fn` (which returns how many items it did), repeated; median and spread."""
    rates = []
    for _ in range(repeats):
        done, started = 0, time.perf_counter()
        while True:
            done += fn()
            elapsed = time.perf_counter() - started
            if elapsed >= min_time_s:
                break
        rates.append(done / elapsed)
    return spread(rates)


def rss_mb(pid: int | None = None) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM) of a process, in MB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    values = {
        k: float(v.split()[0]) / 1024.0 for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.*)$", status, re.M)
    }
    return {"rss_mb": round(values.get("VmRSS", 0.0), 1), "peak_mb": round(values.get("VmHWM", 0.0), 1)}


def model_dir(arg: str | None, *, tiny: bool = False) -> Path:
    """The model to measure: --model, else the shipped model, else the bench-only export (with a note).
    A smoke run (tiny) without any of them uses the test suite's tiny lookup-table model."""
    if arg:
        return Path(arg)
    if (SHIPPED_MODEL / "model.onnx").is_file():
        return SHIPPED_MODEL
    if tiny:
        from tests.support.tinymodel import build_tiny_model

        return build_tiny_model(WORK / "tiny-model")
    fallback = WORK / "me5s-koen-L6-int8"
    if (fallback / "model.onnx").is_file():
        print(
            f"note: {SHIPPED_MODEL} missing; measuring the bench-only export {fallback} "
            "(same architecture, random heads)",
            file=sys.stderr,
        )
        return fallback
    raise SystemExit(
        f"no model: {SHIPPED_MODEL} is missing. Pass --model DIR, or build a stand-in with "
        "`python -m bench.export_base --layers 6`"
    )


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table (also what is printed)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(info: dict[str, Any]) -> str:
    flags = ", ".join(f for f, on in info.get("flags", {}).items() if on)
    extra = f"; contended by: {'; '.join(info['contended'])}" if info.get("contended") else ""
    return (
        f"Machine: {info.get('cpu')}, {info.get('affinity')} cores ({flags}); onnxruntime "
        f"{info.get('onnxruntime', '-')}, python {info.get('python')}; other processes used "
        f"{info.get('others_cores', 0):.2f} cores on average during the run{extra}."
    )


def report(scenario: str, payload: dict[str, Any], markdown: str, *, smoke: bool = False) -> None:
    """Write bench/results/<scenario>.json and this scenario's section of bench/RESULTS.md.

    A smoke run (--tiny, what CI runs) writes only bench/.work/results/<scenario>.json: its figures
    mean nothing and must not replace a measurement.
    """
    info = machine()
    payload = {
        "scenario": scenario,
        "command": "python -m bench." + " ".join([scenario, *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": info,
        **payload,
    }
    folder = WORK / "results" if smoke else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{scenario}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    if smoke:
        print(f"\nsmoke run: wrote {folder / (scenario + '.json')} only")
        return
    section = (
        f"<!-- {scenario}:start -->\n_Regenerated by `{payload['command']}` at {payload['when']}._  \n"
        f"{machine_line(info)}\n\n{markdown.strip()}\n<!-- {scenario}:end -->"
    )
    text = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"<!-- {re.escape(scenario)}:start -->.*?<!-- {re.escape(scenario)}:end -->", re.S)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    RESULTS_MD.write_text(text, encoding="utf-8")
    print(f"\nwrote {RESULTS / (scenario + '.json')} and the {scenario} section of {RESULTS_MD.name}")
