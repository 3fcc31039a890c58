"""Every Prometheus metric of the guard, defined in one place on a registry passed in.

Names follow prometheus.io (base units, plural `_total`, `_info`), all prefixed `guard_`:

    guard_requests_total{rpc,role,verdict,code}          RPCs answered
    guard_detections_total{category,role,action,source}  flagged categories in verdicts
    guard_request_duration_seconds{rpc}                  RPC latency (histogram)
    guard_queue_wait_seconds                             time a text waited in the batcher (histogram)
    guard_inference_duration_seconds                     one batched model call (histogram)
    guard_batch_size                                     texts per model call (histogram)
    guard_queue_depth                                    texts waiting in the batcher (gauge)
    guard_queue_capacity                                 the batcher's bounded queue size (gauge)
    guard_inflight_streams                               open CheckStream calls (gauge)
    guard_fail_open_total{stage,reason}                  LLM-filter checks the guard could not answer,
                                                         passed on unchecked (fail_open=True)
    guard_fail_closed_total{stage,reason}                LLM-filter checks the guard could not answer,
                                                         blocked (the default)
    guard_model_info{name,version,sha256,quant,provider} the loaded model (info)

Label values come only from closed sets (RPC names, roles, category codes, actions, gRPC status
names); anything else becomes "other". No text, user, tenant or span value is ever a label.
`GuardMetrics` implements the batcher's `BatchObserver` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from guard.engine.base import ModelInfo
from guard.taxonomy import CATEGORY_CODES, Role
from guard.verdict import Action, Verdict

#: Latency buckets in seconds, 0.5 ms to 1 s: the guard answers in milliseconds, so the client
#: library's defaults (from 5 ms) would put nearly every request in the first bucket.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
    0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0,
)
#: Batch sizes are small integers; powers of two match the configurable maximum batch size.
BATCH_SIZE_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)

RPCS: tuple[str, ...] = ("Check", "CheckBatch", "CheckStream", "ListCategories", "GetModelInfo", "Pseudonymize",
                         "Restore", "RestoreStream", "EndSession")
ROLES: tuple[str, ...] = tuple(r.value for r in Role) + ("none",)
VERDICTS: tuple[str, ...] = ("safe", "unsafe", "none")
CODES: tuple[str, ...] = tuple(c.name for c in grpc.StatusCode)
ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)
SOURCES: tuple[str, ...] = ("detector", "model")
#: LLM-filter stages and the reasons the guard could not answer (guard.filters.FAIL_REASONS, plus "other").
FAIL_STAGES: tuple[str, ...] = ("prompt", "answer")
FAIL_REASONS: tuple[str, ...] = ("deadline", "overloaded", "service", "model", "config", "other")
OTHER = "other"


def _closed(value: str, allowed: Sequence[str]) -> str:
    """`value` when it belongs to the closed set, else "other": labels never carry free text."""
    return value if value in allowed else OTHER


class GuardMetrics:
    """The guard's metrics on one registry (a fresh one per test, the default one in production).

    Args:
        registry: where the metrics are registered; the caller decides what to expose.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "guard_requests", "RPCs answered, by RPC, judged role, verdict and gRPC status code.",
            ["rpc", "role", "verdict", "code"], registry=registry)
        self.detections = Counter(
            "guard_detections", "Flagged categories in verdicts, by category, role, action and source.",
            ["category", "role", "action", "source"], registry=registry)
        self.request_duration = Histogram(
            "guard_request_duration_seconds", "Time to answer an RPC (a stream: its whole life).",
            ["rpc"], buckets=LATENCY_BUCKETS, registry=registry)
        self.queue_wait = Histogram(
            "guard_queue_wait_seconds", "Time a text waited in the batcher before its model call.",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.inference = Histogram(
            "guard_inference_duration_seconds", "Duration of one batched model call.",
            buckets=LATENCY_BUCKETS, registry=registry)
        self.batch_size = Histogram(
            "guard_batch_size", "Texts per batched model call.",
            buckets=BATCH_SIZE_BUCKETS, registry=registry)
        self.queue_depth = Gauge(
            "guard_queue_depth", "Texts waiting in the batcher.", registry=registry)
        self.queue_capacity = Gauge(
            "guard_queue_capacity", "Size of the batcher's bounded queue (RESOURCE_EXHAUSTED when full).",
            registry=registry)
        self.inflight_streams = Gauge(
            "guard_inflight_streams", "CheckStream calls open now.", registry=registry)
        self.fail_open = Counter(
            "guard_fail_open", "LLM-filter checks the guard could not answer, passed on unchecked "
            "(fail_open=True), by stage and reason.", ["stage", "reason"], registry=registry)
        self.fail_closed = Counter(
            "guard_fail_closed", "LLM-filter checks the guard could not answer, blocked (the default), "
            "by stage and reason.", ["stage", "reason"], registry=registry)
        self.model_info = Info("guard_model", "The loaded model.", registry=registry)
        self._create_series()

    def _create_series(self) -> None:
        # Series that exist from the start, so rate() and the dashboard see zeros, not gaps.
        for rpc in RPCS:
            self.request_duration.labels(rpc=rpc)
        for rpc in ("Check", "CheckBatch", "CheckStream"):
            for role in (Role.USER.value, Role.ASSISTANT.value):
                for verdict in ("safe", "unsafe"):
                    self.requests.labels(rpc=rpc, role=role, verdict=verdict, code="OK")
        for stage in FAIL_STAGES:
            for reason in FAIL_REASONS:
                self.fail_open.labels(stage=stage, reason=reason)
                self.fail_closed.labels(stage=stage, reason=reason)

    # BatchObserver ---------------------------------------------------------------------------

    def on_enqueue(self, depth: int) -> None:
        """The batcher's queue changed size."""
        self.queue_depth.set(depth)

    def on_batch(self, size: int, queue_wait_s: list[float], inference_s: float) -> None:
        """One model call ran on `size` texts, which had waited `queue_wait_s` each."""
        self.batch_size.observe(size)
        self.inference.observe(inference_s)
        for wait in queue_wait_s:
            self.queue_wait.observe(wait)

    # Service ---------------------------------------------------------------------------------

    def observe_request(self, rpc: str, role: str, verdict: str, code: str, duration_s: float) -> None:
        """One RPC answered (or failed) after `duration_s` seconds."""
        rpc = _closed(rpc, RPCS)
        self.requests.labels(rpc=rpc, role=_closed(role, ROLES), verdict=_closed(verdict, VERDICTS),
                             code=_closed(code, CODES)).inc()
        self.request_duration.labels(rpc=rpc).observe(duration_s)

    def observe_verdict(self, verdict: Verdict) -> None:
        """Count the verdict's flagged categories, each with the span source that found it."""
        self.observe_detections(verdict.categories, verdict.role, verdict.action,
                                {(s.category, s.source) for s in verdict.spans})

    def observe_detections(self, categories: Iterable[str], role: str, action: str,
                           span_sources: set[tuple[str, str]]) -> None:
        """Count flagged `categories`; source is "detector" when a validated detector found one."""
        role, action = _closed(role, ROLES), _closed(action, ACTIONS)
        for code in categories:
            source = "detector" if (code, "detector") in span_sources else "model"
            self.detections.labels(category=_closed(code, CATEGORY_CODES), role=role, action=action,
                                   source=source).inc()

    def set_queue_capacity(self, capacity: int) -> None:
        self.queue_capacity.set(capacity)

    def observe_fail_open(self, stage: str, reason: str) -> None:
        """An LLM filter passed a text on unchecked because the guard could not answer."""
        self.fail_open.labels(stage=_closed(stage, FAIL_STAGES), reason=_closed(reason, FAIL_REASONS)).inc()

    def observe_fail_closed(self, stage: str, reason: str) -> None:
        """An LLM filter blocked a call because the guard could not answer."""
        self.fail_closed.labels(stage=_closed(stage, FAIL_STAGES), reason=_closed(reason, FAIL_REASONS)).inc()

    def set_model_info(self, info: ModelInfo) -> None:
        """Publish the loaded model; values are the model's own metadata, never request data."""
        self.model_info.info({"name": info.name, "version": info.version, "sha256": info.sha256,
                              "quant": info.quant, "provider": info.provider})

    def metric_names(self) -> set[str]:
        """Every sample name this registry can expose (histogram _bucket/_sum/_count included)."""
        names: set[str] = set()
        for family in self.registry.collect():
            names.update(f"{family.name}{suffix}" for suffix in _SUFFIXES.get(family.type, ("",)))
        return names


_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "info": ("_info",),
}

__all__ = ["BATCH_SIZE_BUCKETS", "LATENCY_BUCKETS", "GuardMetrics"]
