"""Give the heap memory of a burst of large requests back to the operating system.

A 200,000-character check allocates tens of MB in many small pieces (token offsets, windows, per-window
logits) on several threads. Python frees them, but glibc keeps freed memory in its per-thread arenas
(up to 8 per core, each its own heap), so the resident size of the process stays near its peak after
the burst (measured: 205 MB -> 991 MB after 64 such calls, never coming back). Two things bring it back:
few arenas (`limit_arenas`, before the threads start: freed memory then lands where it can be trimmed)
and `trim()` (malloc_trim(0)) once the burst is over. Measured in-process with the shipped model, 5
maximum-size checks at once: 170 MB -> 475 MB, and after trimming 340 MB with glibc's arenas, 178 MB
with 2 (the sidecar: bench/FAIRNESS_RESULTS.md). Elsewhere (musl, macOS, Windows) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_M_ARENA_MAX = -8  # glibc's mallopt parameter


def _glibc(name: str, *argtypes: type) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc
        return None
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_TRIM = _glibc("malloc_trim", ctypes.c_size_t)
_MALLOPT = _glibc("mallopt", ctypes.c_int, ctypes.c_int)


def limit_arenas(n: int) -> bool:
    """At most `n` malloc arenas for the threads that start from now on (0: leave glibc's default).
    Process-wide: the sidecar calls it at start-up; a library user decides for their own process."""
    if n <= 0 or _MALLOPT is None:
        return False
    return bool(_MALLOPT(_M_ARENA_MAX, n))


def trim() -> bool:
    """Return free heap memory to the OS; True when glibc released some. Takes a few ms on a large
    heap: call it off the event loop."""
    if _TRIM is None:
        return False
    return bool(_TRIM(0))
