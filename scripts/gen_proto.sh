#!/usr/bin/env sh
# Regenerate the Python stubs in guard/_proto/v1 from proto/guard/v1/guard.proto.
# The proto is mapped to the virtual path guard/_proto/v1/ so the generated imports
# ("from guard._proto.v1 import guard_pb2") resolve inside our package.
# Usage: scripts/gen_proto.sh [OUT_DIR]   (default: the repository root; tests pass a temp dir)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
mkdir -p "$OUT"
cd "$ROOT"
"$PYTHON" -m grpc_tools.protoc \
  "--proto_path=guard/_proto/v1=proto/guard/v1" \
  "--python_out=$OUT" "--pyi_out=$OUT" "--grpc_python_out=$OUT" \
  guard/_proto/v1/guard.proto
