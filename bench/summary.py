"""Issue 12's targets against the latest results: reads bench/results/*.json, writes the targets section.

Each figure comes from one scenario's run (ratios are always taken within that run); each row names its
scenario, when that scenario ran and how many cores other processes used meanwhile. A target whose
scenario has not been run shows as "not run".

    python -m bench.summary
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import RESULTS, report, table
from bench.quantization import BASELINE as SHIPPED_FORM


@dataclass(frozen=True)
class Target:
    scenario: str
    what: str
    wanted: str
    get: Callable[[dict[str, Any]], float]
    met: Callable[[float], bool]
    stretch: Callable[[float], bool] | None = None
    note: Callable[[dict[str, Any]], str] | None = None


def _rate(res: dict[str, Any], variant: str) -> float:
    return float(res["rates"][variant]["median"])


def _phase(res: dict[str, Any], clients: int, offered: float) -> dict[str, Any]:
    return next(p for p in res["phases"] if p["clients"] == clients and p.get("offered_rps") == offered)


def _generator(res: dict[str, Any]) -> str:
    cores = _phase(res, 16, 300.0).get("cores")
    if cores is None:
        return "load generator's CPU not recorded in this run"
    return f"load generator {cores['generator']:.2f} cores, server {cores['server']:.2f}"


TARGETS: tuple[Target, ...] = (
    Target("realspeed", "whole guard, Guard.check_batch(64) on real sentences, texts/s", ">= 1,000 (stretch 1,500)",
           lambda r: _rate(r, "guard"), lambda v: v >= 1000, lambda v: v >= 1500,
           lambda r: f"mean {r['mean_text_tokens']} tokens"),
    Target("realspeed", "whole guard / Presidio's predefined regex recognizers alone (same run; the issue's baseline)",
           ">= 0.25x", lambda r: _rate(r, "guard") / _rate(r, "presidio predefined regex"), lambda v: v >= 0.25),
    Target("realspeed", "whole guard / Presidio's Korean regex recognizers alone (same run)", ">= 0.25x",
           lambda r: _rate(r, "guard") / _rate(r, "presidio regex"), lambda v: v >= 0.25),
    Target("realspeed", "one message, Guard.check p50 ms", "< 3 ms",
           lambda r: float(r["one_message"]["p50_ms"]["median"]), lambda v: v < 3),
    Target("service", "sidecar, 16 clients offering 300 req/s: p99 ms", "< 25 ms",
           lambda r: float(_phase(r, 16, 300.0)["latency"]["p99_ms"]), lambda v: v < 25, note=_generator),
    Target("quantization", f"batch invariance of the shipped form ({SHIPPED_FORM}), max Δ", "<= 1e-4",
           lambda r: float(r["results"][SHIPPED_FORM]["batch_invariance_max_delta"]), lambda v: v <= 1e-4),
    Target("realspeed", "model size, model.onnx MB", "<= 50 MB", lambda r: float(r["model_mb"]),
           lambda v: v <= 50),
)

OLD = ("The old issue's targets (chat turns at batch 32, naive torch ratio, roofline fraction, detectors "
       "against Presidio's analyzer, service saturation and memory) are no longer checked here; their figures "
       "stay in the sections of their scenarios.")


def _load() -> dict[str, dict[str, Any]]:
    out = {}
    for name in {t.scenario for t in TARGETS}:
        path = RESULTS / f"{name}.json"
        if path.is_file():
            out[name] = json.loads(path.read_text())
    return out


def _row(t: Target, results: dict[str, dict[str, Any]]) -> list[str]:
    if t.scenario not in results:
        return [t.what, t.wanted, "not run", "", t.scenario]
    res = results[t.scenario]
    try:
        value = t.get(res)
        note = t.note(res) if t.note else ""
    except (KeyError, StopIteration, ZeroDivisionError):
        return [t.what, t.wanted, "missing in results", "", t.scenario]
    shown = f"{value:.2f}x" if t.wanted.endswith("x") else f"{value:.1e}" if "e-" in t.wanted else f"{value:,.1f}"
    status = "**missed**" if not t.met(value) else "stretch met" if t.stretch and t.stretch(value) else "met"
    others = res.get("machine", {}).get("others_cores")
    load = f"; other processes {others:.2f} cores" if others is not None else ""
    return [t.what, t.wanted, f"{shown} ({note})" if note else shown, status, f"{t.scenario} ({res['when']}{load})"]


def main() -> None:
    results = _load()
    rows = [_row(t, results) for t in TARGETS]
    text = table(["target (issue 12)", "wanted", "measured", "", "from"], rows) + "\n\n" + OLD
    print(text)
    report("summary", {"rows": rows}, text)


if __name__ == "__main__":
    main()
