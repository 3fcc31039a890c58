"""The soak run (tests/support/soak.py, recorded by bench/soak.py) at test size on loopback: a real
`kguard serve` process under steady load, then overload, then steady again. Bounded in time (a few
seconds a phase); no timing is asserted.

What must hold: the steady phases answer every call; under overload every call still ends, either
answered or shed (RESOURCE_EXHAUSTED from the batcher's bounded queue, or CANCELLED when gRPC's own
backlog of not-yet-dispatched calls overflows), never INTERNAL or a hang; the server's own counters agree
with what the callers saw; the queue is empty afterwards; memory stays bounded; SIGTERM exits 0.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.soak import SoakConfig, run_soak

CHAT = Path(__file__).resolve().parents[2] / "bench" / "data" / "chat.jsonl"  # the workload, as data


async def test_soak_at_test_size(tiny_model_dir: Path) -> None:
    cfg = SoakConfig(model_dir=tiny_model_dir, steady_s=4.0, overload_s=3.0, concurrency=4,
                     overload_factor=4.0, max_queue=6, max_batch_size=1, sample_s=0.5, timeout_s=20.0)
    rows = [json.loads(line) for line in CHAT.read_text(encoding="utf-8").splitlines() if line.strip()]
    result = await run_soak(cfg, [(r["text"], r["role"]) for r in rows])
    steady, overload, recovery = result["steady"], result["overload"], result["recovery"]
    for phase in (steady, recovery):
        assert phase["ok"] == phase["offered"] > 0 and not phase["errors"], phase
    assert overload["ok"] > 0 and overload["ok"] + overload["shed"] + sum(overload["errors"].values()) == \
        overload["offered"]
    assert set(overload["errors"]) <= {"CANCELLED"}, overload["errors"]
    assert overload["shed"] > 0  # the bounded queue shed the excess (without it everything just waits)
    server = result["server"]
    answered = steady["ok"] + overload["ok"] + recovery["ok"] + 1  # + the warm-up call
    assert server["requests_OK"] == answered
    assert server.get("requests_RESOURCE_EXHAUSTED", 0.0) == overload["shed"]
    assert set(server) <= {"requests_OK", "requests_RESOURCE_EXHAUSTED", "queue_depth"}, server
    assert server["queue_depth"] == 0
    memory = [rss for _, rss in result["memory"]["samples"]]
    assert len(memory) >= 4 and max(memory) < memory[0] + 150  # bounded: no runaway growth
    assert result["server_exit_code"] == 0 and result["server_tracebacks"] == 0
