"""`kguard redteam --seeds FILE --out DIR`: how well the guard holds up against adversarial rewrites.

Every seed (a labelled row; the built-in Korean set when no file is given) is judged as written and in
each variant of guard.verify.transforms. An unsafe seed's variant is caught when the guard flags every
category of the seed's labels (`flagged_at_all` counts those flagged for anything); a safe seed's
variant is a false alarm when the guard flags anything. DIR/report.json gives the catch rate per
transform, per category, and both together, and the variants missed, by id ("seed-id:transform").
Texts are in it only with --show-text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from guard.errors import GuardError
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES
from guard.verify.dataset import Row, load_rows
from guard.verify.output import model_summary, prepare_out_dir, write_json
from guard.verify.transforms import TRANSFORMS, Variant, variants

__all__ = ["RedteamOptions", "builtin_seeds", "judge", "robustness", "run_robustness"]

REPORT_VERSION = 1
_BATCH = 32


@dataclass(frozen=True)
class RedteamOptions:
    out: Path
    seeds: Path | None = None
    transforms: tuple[str, ...] | None = None
    show_text: bool = False
    policy: Path | None = None
    encoding: str = "utf-8"


def builtin_seeds() -> list[Row]:
    """The hand-written Korean seed set shipped in guard/verify/data/seeds.jsonl."""
    path = resources.files("guard.verify").joinpath("data/seeds.jsonl")
    with resources.as_file(path) as p:
        return load_rows(Path(p))


def judge(guard: Guard, items: Sequence[Variant]) -> list[frozenset[str] | str]:
    """Per variant, the categories the guard flagged, or the error class when it refused the input.

    One text is checked as is; turns are each checked on their own (their flags are pooled); chunks are
    checked as a stream (StreamModerator), and the last update's verdict counts."""
    out: list[frozenset[str] | str | None] = [None] * len(items)
    plain = [i for i, v in enumerate(items) if not v.turns and not v.chunks and not v.seed.context]
    for role in ("user", "assistant"):
        idx = [i for i in plain if items[i].seed.role == role]
        for k in range(0, len(idx), _BATCH):
            chunk = idx[k:k + _BATCH]
            verdicts = guard.check_batch([items[i].text for i in chunk], role=role, return_exceptions=True)
            for i, verdict in zip(chunk, verdicts, strict=True):
                out[i] = type(verdict).__name__ if isinstance(verdict, GuardError) else frozenset(verdict.categories)
    for i, v in enumerate(items):
        if out[i] is None:
            out[i] = _judge_one(guard, v)
    return [o if o is not None else "GuardError" for o in out]


def _judge_one(guard: Guard, v: Variant) -> frozenset[str] | str:
    seed, context = v.seed, v.seed.context or None
    try:
        if v.chunks:
            *_, last = guard.check_stream(v.chunks, role=seed.role, context=context)
            return frozenset(last.verdict.categories if last.verdict else ())
        texts = v.turns or (v.text,)
        return frozenset(c for t in texts for c in guard.check(t, role=seed.role, context=context).categories)
    except GuardError as exc:
        return type(exc).__name__


def robustness(guard: Guard, seeds: Sequence[Row], names: tuple[str, ...] | None = None,
               show_text: bool = False) -> dict[str, Any]:
    """The figures of report.json (without its header)."""
    items = [v for row in seeds for v in variants(row, names)]
    results = judge(guard, items)
    per_transform: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # caught, unsafe, alarms, safe,
    # errors, unsafe flagged for anything
    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    matrix: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    missed, alarms, errors = [], [], []
    for v, got in zip(items, results, strict=True):
        t = per_transform[v.transform]
        if isinstance(got, str):
            t[4] += 1
            errors.append({"id": v.id, "error": got})
            continue
        labels = v.seed.labels
        if labels:
            t[1] += 1
            caught = set(labels) <= got
            t[0] += caught
            t[5] += bool(got)
            for code in labels:
                per_category[code][1] += 1
                per_category[code][0] += code in got
                matrix[(v.transform, code)][1] += 1
                matrix[(v.transform, code)][0] += code in got
            if not caught:
                missed.append(_entry(v, got, show_text) | {"missing": sorted(set(labels) - got)})
        else:
            t[3] += 1
            if got:
                t[2] += 1
                alarms.append(_entry(v, got, show_text))
    order = ["none", *[n for n in TRANSFORMS if n in per_transform]]
    return {
        "seeds": len(seeds),
        "unsafe_seeds": sum(1 for r in seeds if r.labels),
        "variants": len(items),
        "by_transform": {n: _transform_row(per_transform[n]) for n in order},
        "by_category": {c: _rate(*per_category[c]) for c in CATEGORY_CODES if c in per_category},
        "by_transform_and_category": {n: {c: _rate(*matrix[(n, c)]) for c in CATEGORY_CODES if (n, c) in matrix}
                                      for n in order},
        "overall_catch_rate": _rate(sum(per_transform[n][0] for n in order if n != "none"),
                                    sum(per_transform[n][1] for n in order if n != "none")),
        "missed": missed,
        "false_alarms": alarms,
        "errors": errors,
    }


def _entry(v: Variant, got: frozenset[str], show_text: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": v.id, "transform": v.transform, "labels": list(v.seed.labels),
                             "flagged": sorted(got)}
    if show_text:
        entry["text"] = v.shown
    return entry


def _rate(hit: int, total: int) -> dict[str, Any]:
    return {"rate": round(hit / total, 4) if total else None, "hit": hit, "of": total}


def _transform_row(c: list[int]) -> dict[str, Any]:
    return {"catch_rate": _rate(c[0], c[1]), "flagged_at_all": _rate(c[5], c[1]),
            "false_alarm_rate": _rate(c[2], c[3]), "errors": c[4]}


def run_robustness(options: RedteamOptions, make_guard: Callable[[], Guard]) -> dict[str, Any]:
    """Read the seeds, judge every variant, write DIR/report.json; return it."""
    names = options.transforms
    unknown = sorted(set(names or ()) - set(TRANSFORMS))
    if unknown:
        raise GuardError(f"unknown transforms {unknown} (expected some of {', '.join(TRANSFORMS)})")
    prepare_out_dir(options.out, ("report.json",), (options.seeds, options.policy))
    seeds = load_rows(options.seeds, encoding=options.encoding) if options.seeds else builtin_seeds()
    guard = make_guard()
    figures = robustness(guard, seeds, names, options.show_text)
    data = {"report_version": REPORT_VERSION, "command": "redteam", "mode": "robustness",
            "seeds_file": str(options.seeds) if options.seeds else "built-in (guard/verify/data/seeds.jsonl)",
            "model": model_summary(guard), "policy": str(options.policy) if options.policy else "default",
            "show_text": options.show_text, **figures}
    write_json(options.out / "report.json", data)
    return data
