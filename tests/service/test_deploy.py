"""deploy/: the dashboard queries only metrics the service exports; the Prometheus files pass promtool;
the Kubernetes pod and the Dockerfile are well-formed, and together they run a command line that
kguard's own parser accepts; their health probes answer quietly; .dockerignore sends only what the
image copies."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from guard.cli import build_parser, config_from_args
from guard.config import GuardConfig
from guard.metrics import GuardMetrics
from tests.extras import PROMTOOL_REASON, has_tool
from tests.service.conftest import StartServer

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


#: Counters only the application's LLM filters increment (guard/filters.py), by the GuardMetrics method.
APP_SIDE = {"guard_fail_open_total": "observe_fail_open", "guard_fail_closed_total": "observe_fail_closed"}


def test_app_side_counters_are_shown_as_the_applications() -> None:
    """The fail-open/closed counters move only in the application's process: a panel reading them on the
    sidecar's job would show 0 forever. They get their own job variable and say whose they are."""
    for metric, method in APP_SIDE.items():
        callers = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "guard").rglob("*.py")
                         if f".{method}(" in p.read_text(encoding="utf-8"))
        assert callers == ["guard/filters.py"], (metric, callers)
    dashboard = json.loads((DEPLOY / "grafana" / "guard-dashboard.json").read_text())
    assert "app_job" in {v["name"] for v in dashboard["templating"]["list"]}
    shown = set()
    for panel in dashboard["panels"]:
        exprs = _exprs(panel)
        used = {m for e in exprs for m in _METRIC.findall(e)}
        if not used & set(APP_SIDE):
            continue
        shown |= used
        assert used <= set(APP_SIDE), panel["title"]  # not mixed with the sidecar's own metrics
        for expr in exprs:
            assert "$app_job" in expr and "$job" not in expr.replace("$app_job", ""), expr
        words = f"{panel['title']} {panel.get('description', '')}".lower()
        assert "application" in words and "sidecar" in words, panel["title"]
    assert shown == set(APP_SIDE)


def test_rules_reference_exported_or_recorded_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert {"GuardHighLatency", "GuardHighErrorRate", "GuardQueueSaturation"} <= alerts
    for expr in _exprs(rules):
        assert set(_METRIC.findall(expr)) <= _exported(), expr
        assert set(_RECORDED.findall(expr)) <= recorded, expr


@pytest.mark.skipif(not has_tool("promtool"), reason=PROMTOOL_REASON)
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


def _dockerfile() -> dict[str, str]:
    """The Dockerfile's instructions (line continuations joined), the last one of each kind."""
    lines = [ln for ln in (DEPLOY / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines()
    instructions = [ln.split(None, 1) for ln in joined if not ln.startswith(" ")]
    assert instructions[0][0] == "FROM"
    return {i[0]: i[1] for i in instructions}


def _copy_sources() -> list[str]:
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    return [source for line in text.splitlines() if line.startswith("COPY ") and "--from" not in line
            for source in line.split()[1:-1]]


def test_dockerfile() -> None:
    args = _dockerfile()
    known = {"FROM", "WORKDIR", "COPY", "RUN", "ENV", "USER", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD"}
    assert set(args) <= known
    assert json.loads(args["ENTRYPOINT"]) == ["kguard", "serve"]
    assert isinstance(json.loads(args["CMD"]), list)
    assert set(args["EXPOSE"].split()) == {"50051", "9464"}
    assert args["USER"].strip() not in ("root", "0")
    for source in _copy_sources():
        assert source.startswith("models/") or (ROOT / source).exists(), source


def _guard_container() -> dict[str, Any]:
    pod = yaml.safe_load((DEPLOY / "kubernetes" / "sidecar-pod.yaml").read_text())
    return next(c for c in pod["spec"]["containers"] if c["name"] == "guard")


def container_argv(entrypoint: list[str], cmd: list[str], command: list[str] | None = None,
                   args: list[str] | None = None) -> list[str]:
    """What a container runs, by Docker's and Kubernetes' rules: a pod's `command` replaces the image's
    ENTRYPOINT (and drops its CMD), its `args` replace the CMD."""
    if command is not None:
        return [*command, *(args or [])]
    return [*entrypoint, *(cmd if args is None else args)]


def _parse_kguard(argv: list[str], where: str, capsys: pytest.CaptureFixture[str]) -> argparse.Namespace:
    assert argv[0] == "kguard", (where, argv)
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"{where} runs `{shlex.join(argv)}`, which kguard refuses: {capsys.readouterr().err}")


def test_the_container_command_lines_parse_with_kguards_own_parser(capsys: pytest.CaptureFixture[str]) -> None:
    docker = _dockerfile()
    entrypoint, cmd = json.loads(docker["ENTRYPOINT"]), json.loads(docker["CMD"])
    guard = _guard_container()
    image = _parse_kguard(container_argv(entrypoint, cmd), "docker run", capsys)
    pod = _parse_kguard(container_argv(entrypoint, cmd, guard.get("command"), guard.get("args")),
                        "the Kubernetes pod", capsys)
    assert image.command == pod.command == "serve"
    image_config = config_from_args(image, base=GuardConfig())
    assert image_config.server.host == "0.0.0.0" and image_config.server.metrics_host == "0.0.0.0"
    pod_config = config_from_args(pod, base=GuardConfig()).server
    socket = next(m["mountPath"] for m in guard["volumeMounts"] if m["name"] == "guard-socket")
    assert pod_config.unix_socket is not None and Path(pod_config.unix_socket).parent == Path(socket)
    assert pod_config.metrics_port == guard["ports"][0]["containerPort"]


def _probe_commands() -> dict[str, list[str]]:
    healthcheck = _dockerfile()["HEALTHCHECK"].split(" CMD ", 1)[1]
    guard = _guard_container()
    commands = {"HEALTHCHECK": json.loads(healthcheck)}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        commands[probe] = guard[probe]["exec"]["command"]
    return commands


async def test_probes_answer_serving_and_print_nothing(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server(server={"unix_socket": str(tmp_path / "guard.sock")})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for name, command in _probe_commands().items():
        assert command[0] == "python", name
        # the file's command, with this interpreter and this test server's address as the target
        argv = [sys.executable, *command[1:-1], server.target]
        done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, env=env,
                                       timeout=60)
        assert done.returncode == 0, (name, done.stderr)
        assert done.stderr == "", (name, done.stderr)  # a probe every few seconds must not fill the logs


def _docker_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go filepath.Match, plus `**` for any number of folders)."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parent folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for raw in patterns:
        negated = raw.startswith("!")
        regex = _docker_pattern(raw.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not negated
    return excluded


def test_dockerignore_sends_only_what_the_image_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    copied = [p.relative_to(ROOT).as_posix() for source in _copy_sources()
              for p in ([ROOT / source] if (ROOT / source).is_file() else (ROOT / source).rglob("*"))
              if p.is_file() and "__pycache__" not in p.parts]
    assert "guard/sdk.py" in copied and "models/kguard-ko-small/model.onnx" in copied
    assert [p for p in copied if dockerignored(p, patterns)] == []
    for left_out in (".venv/bin/python", ".git/HEAD", "training/work/ckpt/model.pt", "tests/conftest.py",
                     "bench/RESULTS.md", "models/other/model.onnx", "guard/__pycache__/sdk.cpython-311.pyc"):
        assert dockerignored(left_out, patterns), left_out
