"""onnxruntime, imported with its telemetry off: every module of the guard imports `ort` from here.

onnxruntime 1.2x-1.3x on Linux records a usage event (process path, OS, CPU model, a device id) under
~/.cache/Microsoft/DeveloperTools/.onnxruntime as soon as it is imported, before any call could turn it
off. It reads ORT_DISABLE_TELEMETRY when it loads, so the variable is set before the import (unless the
caller set it). If onnxruntime was imported before the guard, that first event was already written;
`disable_telemetry_events()` then stops the later ones (SECURITY.md says what remains).
"""

from __future__ import annotations

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import onnxruntime as ort  # noqa: E402  (after the variable, on purpose)

ort.disable_telemetry_events()

__all__ = ["ort"]
