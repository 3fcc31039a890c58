"""Test support: run Python as if some packages were not installed (tests/test_light_install.py).

On PYTHONPATH, this file is imported at every interpreter's start, subprocesses included; it makes every
module named in KGUARD_TEST_WITHOUT (comma-separated top-level names) fail to import, as in a virtual
environment where the extras that bring them were never installed.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_WITHOUT = frozenset(filter(None, os.environ.get("KGUARD_TEST_WITHOUT", "").split(",")))


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name.partition(".")[0] in _WITHOUT:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


if _WITHOUT:
    sys.meta_path.insert(0, _NotInstalled())
