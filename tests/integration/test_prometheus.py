"""The real Prometheus server (Debian's package) scrapes a real sidecar and answers a guard_ query."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from guard.client import AsyncGuardClient
from tests.extras import PROMETHEUS_REASON, has_tool
from tests.service.conftest import RRN_TEXT, StartServer

pytestmark = pytest.mark.skipif(not has_tool("prometheus"), reason=PROMETHEUS_REASON)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except OSError:
        return []  # not up yet
    assert body["status"] == "success"
    return list(body["data"]["result"])


async def test_prometheus_scrapes_guard_metrics(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server(server={"metrics_port": 0})
    async with AsyncGuardClient(server.target) as client:
        for _ in range(3):
            await client.check(RRN_TEXT)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: guard\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{server.metrics_port}']\n")
    web = _free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{web}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        result: list[dict[str, Any]] = []
        for _ in range(600):  # up to ~60 s on a loaded machine: wait for the first scrapes
            result = await asyncio.to_thread(
                _query, web, 'guard_requests_total{rpc="Check",role="user",code="OK",verdict="unsafe"}')
            if result:
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            await asyncio.sleep(0.1)
        assert result, "Prometheus never scraped a guard_ metric"
        sample = result[0]
        assert sample["metric"]["job"] == "guard"
        assert float(sample["value"][1]) == 3
        info = await asyncio.to_thread(_query, web, "guard_model_info")
        assert info and info[0]["metric"]["name"] and len(info[0]["metric"]["sha256"]) == 64
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
