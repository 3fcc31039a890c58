"""Optional parts of the test run: a test that needs an extra (or a tool) skips, saying what to install.

`make test` installs every extra; `make test EXTRAS=dev` installs the runtime and the test tools only
(no torch, ray, spacy, presidio, transformers, datasets, pyarrow) and runs everything that needs no
more, skipping the rest with these reasons.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest


def skip_reason(extra: str, module: str) -> str:
    return f"needs the {extra!r} extra ({module} is not installed): pip install -e '.[{extra}]'"


def need(module: str, extra: str) -> Any:
    """`module`, imported; or skip the test (or the module, when called at its top) naming the extra."""
    return pytest.importorskip(module, reason=skip_reason(extra, module))


PROMTOOL_REASON = ("needs promtool, from Prometheus: apt-get install prometheus (Debian, Ubuntu; .ci/run "
                   "does), or put promtool from a Prometheus release on PATH")
PROMETHEUS_REASON = ("needs the prometheus server binary: apt-get install prometheus (Debian, Ubuntu; "
                     ".ci/run does), or put prometheus from a Prometheus release on PATH")


def has_tool(name: str) -> bool:
    return shutil.which(name) is not None
