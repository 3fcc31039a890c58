"""Dataset-scan throughput: records/s for the local scan and the Ray Data path, on 1 and 2 cores.

Same data for every run: the chat turns of bench/data/chat.jsonl (short Korean user turns, a third
with an identifier), cycled to --records. Each run is timed end to end (process or actor start, model
load, read, scan, write), as a user would see it.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.scan_bench --model models/kguard-ko-small
    # before the shipped model exists: a stand-in of the same size (6-layer me5s-koen, int8, random
    # heads; the same compute per token as the shipped model, meaningless scores); needs the train extra
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.scan_bench --build-standin /tmp/standin --model /tmp/standin
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from guard.scan import EngineSpec, ScanOptions, ScanSettings, scan_file

HERE = Path(__file__).resolve().parent
CHAT = HERE / "data" / "chat.jsonl"


def make_input(path: Path, records: int) -> Path:
    turns = [json.loads(line)["text"] for line in CHAT.read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as f:
        for i in range(records):
            f.write(json.dumps({"id": i + 1, "text": turns[i % len(turns)]}, ensure_ascii=False) + "\n")
    return path


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (pool workers end with the scan)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_local(src: Path, model: str | None, workers: int, cores: int, out_dir: Path) -> dict[str, Any]:
    started, cpu = time.monotonic(), _cpu_s()
    report = scan_file(ScanOptions(
        input=src, output=out_dir / f"local-{workers}.jsonl", settings=ScanSettings(fields=("text",)),
        engine=EngineSpec.for_model(model, detectors_only=model is None), workers=workers, cores=cores,
        chunk_size=256, progress=False))
    wall, cpu = time.monotonic() - started, _cpu_s() - cpu
    return {"path": "local", "cores": cores, "workers": workers, "records": report["records"],
            "flagged": report["flagged"], "wall_s": round(wall, 2),
            "records_per_s": round(report["records"] / wall, 1), "cpu_s": round(cpu, 2),
            "records_per_cpu_s": round(report["records"] / cpu, 1)}


def bench_ray(src: Path, model: str | None, cores: int, out_dir: Path) -> dict[str, Any]:
    import ray

    from guard.integrations.ray_data import GuardBatchScanner

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # One logical CPU more than the actors hold: Ray's read and write tasks need one to be scheduled
    # (with every CPU held by an actor they starve, and the run hangs). They are light I/O.
    ray.init(num_cpus=cores + 1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1"}})
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        started = time.monotonic()
        ds = ray.data.read_json(str(src)).map_batches(
            GuardBatchScanner, batch_size=256, batch_format="pandas", num_cpus=1,
            compute=ray.data.ActorPoolStrategy(size=cores),
            fn_constructor_kwargs={"fields": ["text"], "model_dir": model, "detectors_only": model is None,
                                   "intra_op_num_threads": 1})
        ds.write_json(str(out_dir / f"ray-{cores}"))
        wall = time.monotonic() - started
        flagged = ray.data.read_json(str(out_dir / f"ray-{cores}")).filter(
            lambda row: row["kguard_flagged"]).count()
        records = sum(1 for _ in src.open(encoding="utf-8"))
    finally:
        ray.shutdown()
    return {"path": "ray", "cores": cores, "workers": cores, "records": records, "flagged": flagged,
            "wall_s": round(wall, 2), "records_per_s": round(records / wall, 1)}


def build_standin(out: Path, base: Path, layers: int = 6) -> Path:
    """A model folder of the shipped size and signature with untrained heads (train extra needed)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from guard.engine.tokenize import TextEncoder
    from guard.taxonomy import CATEGORY_CODES, TAGS
    from training.train import build_model

    out.mkdir(parents=True, exist_ok=True)
    encoder = TextEncoder.from_file(base / "tokenizer.json", max_length=128, stride=32, context_tokens=48)
    model = build_model(base, layers, encoder.sep_id).eval()
    ids = torch.ones((2, 16), dtype=torch.int64)
    fp32 = out / "model.fp32.onnx"
    torch.onnx.export(model, (ids, torch.ones_like(ids)), str(fp32), dynamo=False,
                      input_names=["input_ids", "attention_mask"],
                      output_names=["category_logits", "tag_logits"], opset_version=17,
                      dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"},
                                    "category_logits": {0: "b"}, "tag_logits": {0: "b", 1: "s"}})
    quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    fp32.unlink()
    (out / "tokenizer.json").write_bytes((base / "tokenizer.json").read_bytes())
    labels = {"name": "standin", "version": "0", "base_model": str(base), "categories": list(CATEGORY_CODES),
              "tags": list(TAGS), "thresholds": dict.fromkeys(CATEGORY_CODES, 0.99), "max_length": 128,
              "stride": 32, "context_tokens": 48, "quant": "int8"}
    (out / "labels.json").write_text(json.dumps(labels, indent=1), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: detectors only)")
    parser.add_argument("--build-standin", type=Path, help="build a stand-in model folder here first")
    parser.add_argument("--base", type=Path, default=Path("training/work/base/me5s-koen"))
    parser.add_argument("--records", type=int, default=6000)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.build_standin:
        build_standin(args.build_standin, args.base)
    results = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kguard-scan-bench-") as tmp:
        src = make_input(Path(tmp) / "chat.jsonl", args.records)
        results.append(bench_local(src, args.model, 1, 1, Path(tmp)))
        results.append(bench_local(src, args.model, 2, 2, Path(tmp)))
        if not args.skip_ray:
            results.append(bench_ray(src, args.model, 1, Path(tmp)))
            results.append(bench_ray(src, args.model, 2, Path(tmp)))
    print(f"load average before: {load[0]:.2f}  after: {os.getloadavg()[0]:.2f}  (2 cores)")
    for r in results:
        per_cpu = f"  {r['records_per_cpu_s']:,.1f} rec/CPU-s" if "records_per_cpu_s" in r else ""
        print(f"{r['path']:<6} cores {r['cores']}  {r['records']:>7,} records  {r['wall_s']:>7.2f} s  "
              f"{r['records_per_s']:>8,.1f} rec/s{per_cpu}  flagged {r['flagged']:,}")
    for path in ("local", "ray"):
        one = next((r for r in results if r["path"] == path and r["cores"] == 1), None)
        two = next((r for r in results if r["path"] == path and r["cores"] == 2), None)
        if one and two:
            print(f"{path}: scaling 1 -> 2 cores x{two['records_per_s'] / one['records_per_s']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
