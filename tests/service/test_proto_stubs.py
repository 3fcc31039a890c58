"""The committed stubs in guard/_proto match proto/guard/v1/guard.proto (regenerated into a temp dir)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("guard_pb2.py", "guard_pb2.pyi", "guard_pb2_grpc.py")
# Version stamps change with the grpcio-tools release, not with the .proto: compare without them.
_STAMP = re.compile(r"^.*(Protobuf Python Version|GRPC_GENERATED_VERSION|_runtime_version\.|^\s+\d+,$).*$",
                    re.MULTILINE)


def _normalized(text: str) -> str:
    return _STAMP.sub("", text)


def test_stubs_match_the_proto(tmp_path: Path) -> None:
    subprocess.run(["sh", str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)], check=True,
                   env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}, capture_output=True)
    for name in GENERATED:
        fresh = (tmp_path / "guard" / "_proto" / "v1" / name).read_text()
        committed = (ROOT / "guard" / "_proto" / "v1" / name).read_text()
        assert _normalized(fresh) == _normalized(committed), (
            f"guard/_proto/v1/{name} is stale: run scripts/gen_proto.sh")


def test_service_shape() -> None:
    from guard._proto.v1 import guard_pb2

    service = guard_pb2.DESCRIPTOR.services_by_name["Guard"]
    assert service.full_name == "guard.v1.Guard"
    methods = {m.name: (m.client_streaming, m.server_streaming) for m in service.methods}
    assert methods == {"Check": (False, False), "CheckBatch": (False, False), "CheckStream": (True, True),
                       "ListCategories": (False, False), "GetModelInfo": (False, False),
                       "Pseudonymize": (False, False), "Restore": (False, False), "RestoreStream": (True, True),
                       "EndSession": (False, False)}
