"""The declared Python floor (requires-python) is true: nothing in the package needs a later Python.

`make serve` on the floor version must not crash on a module that only later versions ship (tomllib
came in 3.11). Checked three ways: the declarations agree, every source file parses with the floor's
grammar and imports a newer stdlib module only behind a version check, and, when a 3.10 interpreter is
on the machine, the policy (the one tomllib user) really loads under it.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from guard.policy import tomllib

ROOT = Path(__file__).resolve().parents[2]
#: Standard-library modules added after 3.10, with the version that added them.
NEWER_STDLIB = {"tomllib": (3, 11)}


def _floor() -> tuple[int, int]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    match = re.fullmatch(r">=\s*3\.(\d+)", project["project"]["requires-python"])
    assert match, "requires-python is a plain floor"
    return 3, int(match.group(1))


def _sources() -> list[Path]:
    return [p for p in sorted((ROOT / "guard").rglob("*.py")) if "_proto" not in p.parts]


def test_the_floor_is_declared_the_same_everywhere() -> None:
    floor = _floor()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["ruff"]["target-version"] == f"py{floor[0]}{floor[1]}"
    assert f"Python {floor[0]}.{floor[1]}+" in (ROOT / "README.md").read_text(encoding="utf-8")
    if floor < (3, 11):  # tomllib's backport must come with the runtime, on those versions only
        deps = project["project"]["dependencies"]
        assert any(re.match(r"tomli\b.*;\s*python_version\s*<\s*['\"]3\.11['\"]", d) for d in deps), deps


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sources_parse_with_the_floor_grammar(path: Path) -> None:
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=_floor())


def _version_guarded(node: ast.AST, parents: dict[ast.AST, ast.AST], needed: tuple[int, int]) -> bool:
    """True when `node` sits in the body of `if sys.version_info >= (3, N):` with N >= needed."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.If) and child in parent.body:
            test = parent.test
            if (isinstance(test, ast.Compare) and ast.unparse(test.left) == "sys.version_info"
                    and isinstance(test.ops[0], ast.GtE)):
                return tuple(ast.literal_eval(test.comparators[0])) >= needed
        child, parent = parent, parents.get(parent)
    return False


def test_newer_stdlib_modules_are_imported_behind_a_version_check() -> None:
    floor = _floor()
    unguarded = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                added = NEWER_STDLIB.get(name.split(".")[0])
                if added and added > floor and not _version_guarded(node, parents, added):
                    unguarded.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not unguarded, unguarded


def _python_3_10() -> str | None:
    found = shutil.which("python3.10")
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    # a pyenv shim on PATH may not run (another version selected): the versions folder is tried too
    candidates = [found] if found else []
    candidates += sorted(str(p) for p in pyenv.glob("3.10.*/bin/python3.10"))
    for candidate in candidates:
        done = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=30)
        if done.returncode == 0 and done.stdout.strip() == "(3, 10)":
            return candidate
    return None


def test_the_policy_loads_on_python_3_10(tmp_path: Path) -> None:
    python = _python_3_10()
    if python is None:
        pytest.skip("no Python 3.10 interpreter here (python3.10 on PATH or under pyenv)")
    tomli = importlib.util.find_spec("tomli")
    if tomli is None or tomli.origin is None:
        pytest.skip("needs tomli, the dev extra's copy of the 3.10 dependency: pip install -e '.[dev]'")
    shutil.copytree(Path(tomli.origin).parent, tmp_path / "tomli")
    # guard.policy needs only the standard library and tomli, so the bare interpreter can load it.
    script = ("from guard.policy import Policy; import sys; "
              "p = Policy.from_file(sys.argv[1]); print(p.masking.value)")
    done = subprocess.run([python, "-I", "-c", f"import sys; sys.path[:0] = {[str(ROOT), str(tmp_path)]!r}; "
                           + script, str(ROOT / "policies" / "default.toml")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("placeholder", "partial", "hash")
    # Every module compiles with the 3.10 compiler itself (nothing written: compile(), not compileall).
    compile_all = ("import pathlib, sys; [compile(p.read_bytes(), str(p), 'exec') for p in "
                   "pathlib.Path(sys.argv[1]).rglob('*.py') if '_proto' not in p.parts]")
    compiled = subprocess.run([python, "-I", "-c", compile_all, str(ROOT / "guard")],
                              capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0, compiled.stderr
