"""onnxruntime's telemetry stays off: loading and running the engine writes no file under HOME.

onnxruntime (1.2x-1.3x, Linux) records a usage event and a device id under
~/.cache/Microsoft/DeveloperTools/.onnxruntime as soon as it is imported; guard.engine.runtime sets
ORT_DISABLE_TELEMETRY before the import. Run in a fresh process with an empty HOME, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_LOAD_AND_RUN = """
import sys
from pathlib import Path
from guard import Guard
g = Guard(Path(sys.argv[1]))
assert "P1" in g.check("my 주민번호 900101-1234568").categories
"""


def test_loading_the_engine_writes_nothing_under_home(tmp_path: Path, tiny_model_dir: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", _LOAD_AND_RUN, str(tiny_model_dir)], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
