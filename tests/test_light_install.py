"""The runtime and its tests without the heavy extras: `make test EXTRAS=dev` (runtime + test tools).

`make test` installs every extra (2.3 GB with torch, ray, spacy, presidio, transformers). A lighter
install must still collect and run the suite: what needs an extra skips, naming it. Emulated here by
hiding every package that only the other extras bring (tests/without_extras/sitecustomize.py) from a
pytest run in a subprocess, interpreters it starts included.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from guard.policy import tomllib

ROOT = Path(__file__).resolve().parents[1]
LIGHT_EXTRAS = ("dev",)
#: Tests that use an extra when it is there; run for real without them.
USERS_OF_EXTRAS = ("tests/scan/test_writers.py", "tests/scan/test_bad_input.py", "tests/scan/test_integrations.py",
                   "tests/training")


def _project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _installed_closure(requirements: list[str]) -> dict[str, md.Distribution]:
    """The distributions installed here that `requirements` pull in, transitively."""
    found: dict[str, md.Distribution] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in found or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            continue
        found[name] = dist
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if not sub.marker or any(sub.marker.evaluate({"extra": e}) for e in {"", *req.extras}):
                todo.append(sub)
    return found


def _top_level(dist: md.Distribution) -> set[str]:
    listed = dist.read_text("top_level.txt")
    if listed:
        return {line.strip() for line in listed.splitlines() if line.strip()}
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if not first.endswith((".dist-info", ".egg-info", ".data", ".pth")) and first not in ("..", "__pycache__"):
            names.add(first.removesuffix(".py"))
    return names


def heavy() -> tuple[set[str], set[str]]:
    """(top-level modules that only the extras outside LIGHT_EXTRAS bring, the modules of the pytest
    plugins that the light install has)."""
    project = _project()
    extras = project["optional-dependencies"]
    light = _installed_closure([*project["dependencies"], *(r for e in LIGHT_EXTRAS for r in extras[e])])
    full = _installed_closure([*project["dependencies"], *(r for e in extras.values() for r in e)])
    only_heavy = {name: dist for name, dist in full.items() if name not in light}
    modules = set().union(*map(_top_level, only_heavy.values())) if only_heavy else set()
    modules -= set().union(*map(_top_level, light.values()))  # namespace packages shared with the runtime
    plugins = {ep.value for dist in light.values() for ep in dist.entry_points if ep.group == "pytest11"}
    return modules, plugins


def _pytest_without_extras(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    modules, plugins = heavy()
    # Only the light install's pytest plugins, loaded by module (an entry point's name may be a stdlib
    # module's, "asyncio"): the extras' ones (Faker's) are absent there, and pytest would import them
    # past the hiding finder.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KGUARD_TEST_WITHOUT": ",".join(sorted(modules)),
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests" / "without_extras"), str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    if path is not None:
        env["PATH"] = path
    load = [arg for name in sorted(plugins) for arg in ("-p", name)]
    return subprocess.run([sys.executable, "-m", "pytest", *load, "-q", "-rs", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _skip_reasons(output: str) -> list[str]:
    return re.findall(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", output, flags=re.MULTILINE)


def _heavy_or_skip() -> set[str]:
    modules, _ = heavy()
    if not modules & {"torch", "ray", "spacy", "presidio_analyzer", "transformers", "pyarrow"}:
        pytest.skip("no heavy extra is installed here: this run is already the light one")
    return modules


def test_the_light_install_leaves_the_heavy_packages_out() -> None:
    modules = _heavy_or_skip()
    installed = {m for m in ("torch", "ray", "spacy", "presidio_analyzer", "transformers")
                 if importlib.util.find_spec(m) is not None}
    assert installed <= modules
    assert not modules & {"guard", "onnxruntime", "grpc", "numpy", "tokenizers", "pytest", "onnx"}


def test_every_test_collects_without_the_extras() -> None:
    _heavy_or_skip()
    done = _pytest_without_extras("--collect-only", "tests")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for reason in _skip_reasons(done.stdout):
        assert "extra" in reason or "install" in reason, reason


def test_tests_that_use_an_extra_skip_naming_it() -> None:
    _heavy_or_skip()
    done = _pytest_without_extras(*USERS_OF_EXTRAS)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    reasons = _skip_reasons(done.stdout)
    assert any("'scan' extra" in r for r in reasons), reasons
    for reason in reasons:
        assert "extra" in reason and "install" in reason, reason


def test_tests_that_need_prometheus_say_what_to_install(tmp_path: Path) -> None:
    """Without promtool and prometheus on PATH, their tests skip with the command that installs them."""
    done = _pytest_without_extras("tests/service/test_deploy.py", "tests/integration/test_prometheus.py",
                                  path=str(tmp_path))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    reasons = _skip_reasons(done.stdout)
    assert any("promtool" in r for r in reasons) and any("prometheus server" in r for r in reasons), reasons
    for reason in reasons:
        assert "apt-get install prometheus" in reason, reason
