"""The issue's targets against the latest results: reads bench/results/*.json, writes the targets section.

Each figure comes from one scenario's run (ratios are always taken within that run). A target whose
scenario has not been run shows as "not run".

    python -m bench.summary
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench.common import RESULTS, report, table

Check = tuple[str, str, Callable[[dict[str, Any]], float], Callable[[float], bool], str]


def _load() -> dict[str, dict[str, Any]]:
    out = {}
    for name in ("inprocess", "baselines", "roofline", "service"):
        path = RESULTS / f"{name}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
    return out


def _rate(res: dict[str, Any], prefix: str) -> float:
    rates = res["model_path"]["rates"]
    return float(next(v["median"] for k, v in rates.items() if k.startswith(prefix)))


def _id_rate(res: dict[str, Any], prefix: str) -> float:
    rates = res["identifier_path"]["rates"]
    return float(next(v["median"] for k, v in rates.items() if k.startswith(prefix)))


def _found(res: dict[str, Any], who: str) -> float:
    return float(sum(v["found"] for v in res["identifier_path"]["recall"][who]["by_type"].values()))


def _phase(res: dict[str, Any], clients: int, offered: float) -> dict[str, Any]:
    return next(p for p in res["phases"] if p["clients"] == clients and p.get("offered_rps") == offered)


def _saturation(res: dict[str, Any]) -> float:
    best = max(p["achieved_rps"] for p in res["phases"] if p["kind"] == "saturation")
    return float(best / res["inprocess_asyncguard_64_rps"])


NAIVE = "naive: torch fp32 eager 12 layers, batch 32"


def _vs_naive(res: dict[str, Any], suffix: str) -> float:
    return _rate(res, "ours: OnnxEngine") / float(res["model_path"]["rates"][NAIVE + suffix]["median"])


CHECKS: tuple[Check, ...] = (
    ("baselines", "in-process chat turns, texts/s (engine, batch 32)",
     lambda r: _rate(r, "ours: OnnxEngine"), lambda v: v >= 1000, ">= 1,000"),
    ("baselines", "same, whole pipeline (Guard.check_batch of 32), texts/s",
     lambda r: _rate(r, "ours: Guard.check_batch"), lambda v: v >= 1000, ">= 1,000"),
    ("baselines", "ours / naive torch fp32 12 layers (unsorted batches)",
     lambda r: _vs_naive(r, ""), lambda v: v >= 7, ">= 7x"),
    ("baselines", "ours / naive torch fp32 12 layers (sorted batches)",
     lambda r: _vs_naive(r, ", sorted by length"), lambda v: v >= 7, ">= 7x"),
    ("roofline", "achieved / int8 GEMM kernel limit", lambda r: float(r["fraction_of_kernel_peak"]),
     lambda v: v >= 0.30, ">= 30%"),
    ("baselines", "detectors / Presidio Korean recognizers, texts/s ratio",
     lambda r: _id_rate(r, "ours: normalize") / _id_rate(r, "Presidio"), lambda v: v >= 2, ">= 2x"),
    ("baselines", "planted identifiers found: ours minus Presidio (any score)",
     lambda r: _found(r, "ours") - _found(r, "Presidio (any score)"), lambda v: v > 0, "> 0"),
    ("inprocess", "one 32-token message, Guard.check p50 ms",
     lambda r: float(r["single_message"]["guard_check"]["p50_ms"]), lambda v: v < 3, "< 3 ms"),
    ("service", "gRPC, 16 clients, 300 req/s offered: p99 ms",
     lambda r: float(_phase(r, 16, 300.0)["latency"]["p99_ms"]), lambda v: v < 15, "< 15 ms"),
    ("service", "gRPC saturation / in-process AsyncGuard saturation", _saturation,
     lambda v: v >= 0.7, ">= 70%"),
    ("service", "service resident memory, peak MB", lambda r: float(r["memory"]["end"]["peak_mb"]),
     lambda v: v < 400, "< 400 MB"),
)


def main() -> None:
    results = _load()
    rows = []
    for scenario, what, get, ok, target in CHECKS:
        if scenario not in results:
            rows.append([what, target, "not run", "", scenario])
            continue
        try:
            value = get(results[scenario])
        except (KeyError, StopIteration, ZeroDivisionError):
            rows.append([what, target, "missing in results", "", scenario])
            continue
        shown = f"{value:.0%}" if "%" in target else f"{value:.2f}x" if "x" in target else f"{value:,.1f}"
        rows.append([what, target, shown, "met" if ok(value) else "**missed**",
                     f"{scenario} ({results[scenario]['when']})"])
    text = table(["target", "wanted", "measured", "", "from"], rows)
    print(text)
    report("summary", {"rows": rows}, text)


if __name__ == "__main__":
    main()
