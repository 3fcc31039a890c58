"""guard.metrics on a fresh registry: names, buckets, the BatchObserver protocol, closed label sets."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from guard.batcher import BatchObserver
from guard.engine.fake import FakeEngine
from guard.metrics import LATENCY_BUCKETS, GuardMetrics
from guard.verdict import Span, Verdict


@pytest.fixture
def metrics() -> GuardMetrics:
    return GuardMetrics(CollectorRegistry())


def test_names_follow_the_contract(metrics: GuardMetrics) -> None:
    assert {
        "guard_requests_total", "guard_detections_total", "guard_request_duration_seconds_bucket",
        "guard_queue_wait_seconds_bucket", "guard_inference_duration_seconds_bucket",
        "guard_batch_size_bucket", "guard_queue_depth", "guard_inflight_streams", "guard_model_info",
        "guard_fail_open_total", "guard_queue_capacity",
    } <= metrics.metric_names()
    assert all(n.startswith("guard_") for n in metrics.metric_names())


def test_latency_buckets_suit_milliseconds() -> None:
    assert LATENCY_BUCKETS[0] == 0.0005 and LATENCY_BUCKETS[-1] == 1.0
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)
    assert sum(b <= 0.01 for b in LATENCY_BUCKETS) >= 6  # resolution where the guard answers


def test_batch_observer(metrics: GuardMetrics) -> None:
    observer: BatchObserver = metrics
    observer.on_enqueue(5)
    observer.on_batch(3, [0.001, 0.002, 0.0004], 0.004)
    reg = metrics.registry
    assert reg.get_sample_value("guard_queue_depth") == 5
    assert reg.get_sample_value("guard_batch_size_count") == 1
    assert reg.get_sample_value("guard_batch_size_sum") == 3
    assert reg.get_sample_value("guard_queue_wait_seconds_count") == 3
    assert reg.get_sample_value("guard_queue_wait_seconds_bucket", {"le": "0.0005"}) == 1
    assert reg.get_sample_value("guard_inference_duration_seconds_sum") == pytest.approx(0.004)


def test_requests_and_detections(metrics: GuardMetrics) -> None:
    metrics.observe_request("Check", "user", "unsafe", "OK", 0.003)
    verdict = Verdict(safe=False, categories=["P1", "S1"], scores={}, action="mask",
                      spans=[Span(0, 14, "RRN", "P1", 1.0, "detector")], role="assistant")
    metrics.observe_verdict(verdict)
    reg = metrics.registry
    assert reg.get_sample_value("guard_requests_total",
                                {"rpc": "Check", "role": "user", "verdict": "unsafe", "code": "OK"}) == 1
    assert reg.get_sample_value("guard_request_duration_seconds_count", {"rpc": "Check"}) == 1
    assert reg.get_sample_value("guard_detections_total", {"category": "P1", "role": "assistant",
                                                           "action": "mask", "source": "detector"}) == 1
    assert reg.get_sample_value("guard_detections_total", {"category": "S1", "role": "assistant",
                                                           "action": "mask", "source": "model"}) == 1


def test_label_values_come_from_closed_sets(metrics: GuardMetrics) -> None:
    text = "제 주민번호는 900101-1234568"
    metrics.observe_request(text, text, text, text, 0.001)
    metrics.observe_detections([text], text, text, {(text, text)})
    exposition = generate_latest(metrics.registry).decode()
    assert "900101" not in exposition and "주민" not in exposition
    assert metrics.registry.get_sample_value(
        "guard_requests_total", {"rpc": "other", "role": "other", "verdict": "other", "code": "other"}) == 1


def test_model_info_and_gauges(metrics: GuardMetrics) -> None:
    metrics.set_model_info(FakeEngine().info)
    metrics.set_queue_capacity(2048)
    metrics.observe_fail_open("prompt", "service")
    reg = metrics.registry
    assert reg.get_sample_value("guard_model_info", {"name": "fake", "version": "0", "sha256": "0" * 64,
                                                     "quant": "none", "provider": "fake"}) == 1
    assert reg.get_sample_value("guard_queue_capacity") == 2048
    assert reg.get_sample_value("guard_fail_open_total", {"stage": "prompt", "reason": "service"}) == 1


def test_fresh_registries_are_independent() -> None:
    a, b = GuardMetrics(CollectorRegistry()), GuardMetrics(CollectorRegistry())
    a.on_enqueue(3)
    assert b.registry.get_sample_value("guard_queue_depth") == 0
