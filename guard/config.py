"""All configuration, one home: frozen keyword-only dataclasses per concern, with defaults that work.

`from_env()` reads `KGUARD_*` variables (and the HMAC key, from KGUARD_HMAC_KEY_FILE or
KGUARD_HMAC_KEY); only guard/cli.py calls it, once per command, and passes the one GuardConfig down.
The library never reads the environment: a program that wants the variables calls `from_env()` itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from guard.errors import ConfigError

#: The shipped model's folder name under models/.
DEFAULT_MODEL_NAME = "kguard-ko-small"
#: The variables that hold the keyed-hash masking key: a file (preferred) or the key itself.
HMAC_KEY_FILE_ENV = "KGUARD_HMAC_KEY_FILE"
HMAC_KEY_ENV = "KGUARD_HMAC_KEY"
_MIN_KEY_BYTES = 16
_REPO_MODELS = Path(__file__).resolve().parent.parent / "models"


def available_cores() -> int:
    """Cores this process may run on (its affinity where the OS reports one): what 0 means in the
    thread and session counts."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_model_dir() -> Path:
    """Where the shipped model lives (models/<DEFAULT_MODEL_NAME> beside the package)."""
    return _REPO_MODELS / DEFAULT_MODEL_NAME


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """The ONNX engine. Names follow onnxruntime's SessionOptions."""

    model_dir: Path = field(default_factory=default_model_dir)
    intra_op_num_threads: int = 0   # 0: onnxruntime picks (all cores); with a pool: the solo session's
    # Sessions that compute a call's length buckets in parallel, the cores split between them (1: one
    # session computes them in turn on intra_op_num_threads). 0: one per core, at most 4 (50-85 MB each).
    # With a pool, a call of one bucket (one message) runs on one more session, on intra_op_num_threads,
    # when no other call is in the engine; no more runs compute at once than the pool has sessions, whatever
    # the callers (BatcherConfig.max_concurrent_batches, the long-text lane). bench/RESULTS.md, threads.
    sessions: int = 0
    inter_op_num_threads: int = 1
    providers: tuple[str, ...] = ()  # empty: CUDA when available, else CPU
    max_batch_tokens: int = 8192     # windows per onnxruntime call are capped by padded tokens
    bucket_width_ratio: float = 1.2  # a call takes windows up to this x its shortest one's length: padding
                                     # costs more than extra calls (1.27x texts/s on chat turns, bench/tuning)
    allow_spinning: bool = True      # idle onnxruntime threads spin: 1.5x faster on idle cores, slower when
                                     # other processes share them (bench/RESULTS.md, tuning)
    # Graph transformers not run at load, by onnxruntime's names (guard.engine.tuning says why).
    disabled_optimizers: tuple[str, ...] = ("SkipLayerNormFusion",)
    self_test: bool = True           # a guard loading this folder checks its canaries.json first (selftest)


@dataclass(frozen=True, kw_only=True)
class BatcherConfig:
    """The micro-batcher that gathers requests across callers."""

    max_batch_size: int = 32
    max_wait_s: float = 0.002
    max_queue: int = 2048
    # Batches computed at once, each on its own thread; their buckets share the engine's session pool,
    # which bounds the runs at once (with one session, AsyncGuard splits its cores between them: 2 on 2
    # cores, one thread each). With the pool, 1 and 2 are level (bench/RESULTS.md, threads). Before
    # pools, measured 2026-11-22 06:15-06:41 on 2 cores (bench/tuning, bench/service, 4 runs per setting):
    #   library 1: in-process AsyncGuard is faster with one all-core batch at 1 and 16 closed-loop callers
    #     (149-157 vs 107 and 252-302 vs 167-199 texts/s; 2 wins only at 64: 1.11x); Guard never batches.
    #   sidecar 2 (serve_defaults): 16 gRPC clients saturate at 260-274 req/s against 167-215; 300/s
    #     offered: 228-257 achieved, p99 75-102 ms against 156-213 and 90-137 ms. Costs: one client's p50
    #     9-11.5 against 8.4-9 ms, a CheckStream verdict lagged 1.0-1.2 s against 0.64-0.78 s
    #     (before CheckStream read ahead: 65 ms p50 since, with 2).
    max_concurrent_batches: int = 1
    # Texts longer than this (normalized, with their context) skip the micro-batcher: they are computed
    # in slices of `long_slice_tokens` padded tokens that take turns (round robin) on
    # `long_concurrent_slices` threads, and stop between slices when their caller has gone, so a
    # maximum-size text never holds a batch slot that small checks need (bench/fairness.py).
    long_text_chars: int = 2048
    long_slice_tokens: int = 2048     # 16 windows of 128 tokens: ~0.3 s on one core
    long_concurrent_slices: int = 1   # slices computed at once (the small checks keep their own slots)
    long_max_texts: int = 8           # long texts being computed or waiting for a turn (threads)


@dataclass(frozen=True, kw_only=True)
class LimitsConfig:
    """Input limits, enforced before any work."""

    max_text_chars: int = 200_000
    max_batch_items: int = 256
    max_messages: int = 64
    max_stream_messages: int = 50_000   # chunks per stream (empty ones too): a long answer token by token
    # Characters of all requests being worked on (texts, contexts, streams received so far); beyond it
    # new requests get RESOURCE_EXHAUSTED. One request larger than this is admitted when nothing else
    # is in flight, so the peak is bounded by max(max_inflight_chars, one request).
    max_inflight_chars: int = 1_000_000


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """The gRPC sidecar and its metrics endpoint."""

    host: str = "127.0.0.1"
    port: int = 50051
    unix_socket: str | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None   # set: mutual TLS, clients must present a certificate
    max_message_bytes: int = 4 * 1024 * 1024   # GuardClient's default too (ClientConfig)
    grace_s: float = 10.0
    warmup: bool = True
    malloc_arenas: int = 2   # glibc malloc arenas of the sidecar process (0: glibc's 8 per core): with few,
                             # the memory of a burst of large requests can be given back (guard.heap)


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """GuardClient and AsyncGuardClient defaults (each can be set per client and per call).

    A stream is bounded by its idle time, not its length: an LLM answer streams for a minute or more,
    but a stream where nothing moves (no chunk from the caller's iterator and no reply from the
    sidecar) for `stream_idle_timeout_s` is stuck, and fails with DeadlineError.
    """

    target: str = f"{ServerConfig.host}:{ServerConfig.port}"   # the sidecar's default address
    max_message_bytes: int = ServerConfig.max_message_bytes    # the same limit as the sidecar's
    timeout_s: float | None = 5.0                # one unary call, its retries included (None: no deadline)
    stream_idle_timeout_s: float | None = 30.0   # a stream: the longest wait for the next chunk or reply
    stream_timeout_s: float | None = None        # a stream's whole life (None: no limit)


@dataclass(frozen=True, kw_only=True)
class GuardConfig:
    """Everything, grouped."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    batcher: BatcherConfig = field(default_factory=BatcherConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    policy_file: Path | None = None
    # The keyed-hash masking key (masking = "hash"); never in code, never in a repr or a log line.
    hmac_key: bytes | None = field(default=None, repr=False)


def serve_defaults() -> GuardConfig:
    """The sidecar's defaults (`kguard serve`): the library's, with two batches computed at once."""
    return GuardConfig(batcher=BatcherConfig(max_concurrent_batches=2))


_T = TypeVar("_T")


def _section_from_env(base: _T, prefix: str, env: dict[str, str]) -> _T:
    defaults = type(base)()  # each field's type is read from its class default
    changes: dict[str, Any] = {}
    for f in fields(base):  # type: ignore[arg-type]
        key = f"{prefix}{f.name.upper()}"
        if key not in env:
            continue
        raw = env[key]
        current = getattr(defaults, f.name)
        try:
            if isinstance(current, bool):
                changes[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                changes[f.name] = int(raw)
            elif isinstance(current, float):
                changes[f.name] = float(raw)
            elif isinstance(current, tuple):
                changes[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            elif f.name.endswith(("_dir", "_cert", "_key", "_ca")):
                changes[f.name] = Path(raw) if raw else None
            else:
                changes[f.name] = raw or None
        except ValueError:
            raise ConfigError(f"{key}: not a valid {type(current).__name__}") from None
    return replace(base, **changes)  # type: ignore[type-var]


def from_env(env: dict[str, str] | None = None, *, base: GuardConfig | None = None) -> GuardConfig:
    """Build a GuardConfig from KGUARD_* variables, e.g. KGUARD_ENGINE_MODEL_DIR, KGUARD_SERVER_PORT,
    over `base` (default: GuardConfig(); the sidecar passes serve_defaults())."""
    env = dict(os.environ if env is None else env)
    base = base or GuardConfig()
    policy = env.get("KGUARD_POLICY_FILE")
    key_file = env.get(HMAC_KEY_FILE_ENV)
    key = env.get(HMAC_KEY_ENV, "").encode() or base.hmac_key
    return GuardConfig(
        engine=_section_from_env(base.engine, "KGUARD_ENGINE_", env),
        batcher=_section_from_env(base.batcher, "KGUARD_BATCHER_", env),
        limits=_section_from_env(base.limits, "KGUARD_LIMITS_", env),
        server=_section_from_env(base.server, "KGUARD_SERVER_", env),
        policy_file=Path(policy) if policy else base.policy_file,
        hmac_key=read_hmac_key(Path(key_file)) if key_file else key,
    )


def read_hmac_key(path: Path) -> bytes:
    """The keyed-hash key from a file (surrounding whitespace stripped); ConfigError when the file
    cannot be read or holds fewer than 16 bytes. The message names the file, never the key."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read HMAC key file {path}: {exc.strerror}") from None
    if len(key) < _MIN_KEY_BYTES:
        raise ConfigError(f"HMAC key file holds fewer than {_MIN_KEY_BYTES} bytes")
    return key


def replace_engine_dir(engine: EngineConfig, model: str | Path | None) -> EngineConfig:
    """`engine` with its model folder set to `model` when one is given."""
    return engine if model is None else replace(engine, model_dir=Path(model))


__all__ = ["BatcherConfig", "ClientConfig", "DEFAULT_MODEL_NAME", "EngineConfig", "GuardConfig", "HMAC_KEY_ENV",
           "HMAC_KEY_FILE_ENV", "LimitsConfig", "ServerConfig", "available_cores", "default_model_dir", "from_env",
           "read_hmac_key", "replace_engine_dir", "serve_defaults"]
