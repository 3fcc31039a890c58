"""The gRPC sidecar (`kguard serve`): guard.v1.Guard, health and reflection over grpc.aio.

The names below load on first use. Importing app.py here would make every `python -m guard.server.app`
(the health probe of the Kubernetes pod and of the Docker HEALTHCHECK) print runpy's RuntimeWarning
about a module found in sys.modules before it ran as __main__.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guard.server.app import GuardServer, run_serve, serve

__all__ = ["GuardServer", "run_serve", "serve"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'guard.server' has no attribute {name!r}")
    return getattr(importlib.import_module("guard.server.app"), name)
