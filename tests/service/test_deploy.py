"""deploy/: the dashboard queries only metrics the service exports; the Prometheus files pass promtool;
the Kubernetes pod and the Dockerfile are well-formed."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from guard.metrics import GuardMetrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_METRIC = re.compile(r"\b(guard_[a-z_]+)\b")
_RECORDED = re.compile(r"\b(guard:[a-z_0-9:]+)\b")


def _exported() -> set[str]:
    return GuardMetrics(CollectorRegistry()).metric_names()


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


def test_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "guard-dashboard.json").read_text())
    exprs = _exprs(dashboard["panels"])
    used = {m for e in exprs for m in _METRIC.findall(e)}
    assert len(exprs) >= 10 and used
    assert used <= _exported(), f"not exported: {sorted(used - _exported())}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("traffic", "category", "latency", "batch", "queue", "error"):
        assert topic in titles


def test_rules_reference_exported_or_recorded_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert {"GuardHighLatency", "GuardHighErrorRate", "GuardQueueSaturation"} <= alerts
    for expr in _exprs(rules):
        assert set(_METRIC.findall(expr)) <= _exported(), expr
        assert set(_RECORDED.findall(expr)) <= recorded, expr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is absent")
@pytest.mark.parametrize("command", [
    "check rules deploy/prometheus/rules.yml",
    "check config deploy/prometheus/prometheus.yml",
    "test rules deploy/prometheus/rules_test.yml",
])
def test_promtool(command: str) -> None:
    result = subprocess.run(["promtool", *shlex.split(command)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_sidecar_pod() -> None:
    pod = yaml.safe_load((DEPLOY / "kubernetes" / "sidecar-pod.yaml").read_text())
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    guard, app = containers["guard"], containers["app"]
    socket_arg = next(a for a in guard["args"] if a.startswith("--unix-socket="))
    socket_path = socket_arg.split("=", 1)[1]
    mounts = {m["name"]: m["mountPath"] for m in guard["volumeMounts"]}
    assert mounts == {m["name"]: m["mountPath"] for m in app["volumeMounts"]}
    assert Path(socket_path).parent.as_posix() in mounts.values()
    assert {v["name"] for v in pod["spec"]["volumes"]} == set(mounts)
    assert guard["ports"][0]["name"] == "guard-metrics" and guard["ports"][0]["containerPort"] == 9464
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert guard[probe]["exec"]["command"][-1] == f"unix://{socket_path}"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


def test_dockerfile() -> None:
    lines = [ln for ln in (DEPLOY / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines()
    instructions = [ln.split(None, 1) for ln in joined if not ln.startswith(" ")]
    known = {"FROM", "WORKDIR", "COPY", "RUN", "ENV", "USER", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD"}
    assert instructions[0][0] == "FROM"
    assert {i[0] for i in instructions} <= known
    args = {i[0]: i[1] for i in instructions}
    assert json.loads(args["ENTRYPOINT"]) == ["kguard", "serve"]
    assert isinstance(json.loads(args["CMD"]), list)
    assert set(args["EXPOSE"].split()) == {"50051", "9464"}
    assert args["USER"].strip() not in ("root", "0")
    for kind, rest in instructions:
        if kind == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert source.startswith("models/") or (ROOT / source).exists(), source
