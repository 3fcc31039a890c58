"""guard.client without a server: the status -> exception table and request building."""

from __future__ import annotations

import grpc
import pytest

from guard._proto.v1 import guard_pb2 as pb
from guard._wire import (
    ACTION_NAMES,
    ACTION_TO_PB,
    STATUS_BY_ERROR,
    error_from_status,
    overrides_from_pb,
    overrides_to_pb,
    verdict_from_pb,
    verdict_to_pb,
)
from guard.client import RetryPolicy
from guard.errors import DeadlineError, InputError, OverloadedError, ServiceError
from guard.overrides import Overrides
from guard.verdict import Span, Verdict


@pytest.mark.parametrize(("code", "kind"), [
    (grpc.StatusCode.INVALID_ARGUMENT, InputError),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, OverloadedError),
    (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineError),
    (grpc.StatusCode.UNAVAILABLE, ServiceError),
    (grpc.StatusCode.INTERNAL, ServiceError),
    (None, ServiceError),
])
def test_status_to_error(code: grpc.StatusCode | None, kind: type[Exception]) -> None:
    error = error_from_status(code, "why")
    assert type(error) is kind and str(error) == "why"
    if isinstance(error, ServiceError):
        assert error.code == (code or grpc.StatusCode.UNKNOWN).name


def test_server_table_round_trips_through_the_client() -> None:
    for kind, code in STATUS_BY_ERROR:
        error = error_from_status(code, "m")
        assert isinstance(error, kind) or (isinstance(error, ServiceError) and error.code == code.name)


def test_verdict_round_trip() -> None:
    v = Verdict(safe=False, categories=["P1"], scores={"P1": 0.9731, "S1": 0.0123},
                spans=[Span(3, 17, "RRN", "P1", 1.0, "detector")], action="mask", masked="x",
                role="assistant")
    assert verdict_from_pb(verdict_to_pb(v)) == v
    unmasked = Verdict(safe=True, categories=[], scores={}, masked=None)
    assert verdict_from_pb(verdict_to_pb(unmasked)).masked is None


def test_overrides_round_trip() -> None:
    o = Overrides(categories_on=frozenset({"P1", "S1"}), categories_off=frozenset({"P3"}),
                  thresholds={"P1": 0.25}, actions={"S1": "block"}, return_masked=False, return_spans=True)
    back = overrides_from_pb(overrides_to_pb(o))
    assert back is not None and back.validated() == o.validated()
    assert overrides_from_pb(pb.PolicyOverrides()) == Overrides()  # unset booleans mean true


def test_every_action_has_one_wire_value_and_back() -> None:
    assert set(ACTION_TO_PB) == {"allow", "flag", "mask", "block"}
    assert {ACTION_NAMES[v] for v in ACTION_TO_PB.values()} == set(ACTION_TO_PB)
    assert pb.ACTION_UNSPECIFIED not in ACTION_NAMES


def test_backoff_is_exponential_and_capped() -> None:
    retry = RetryPolicy(backoff_s=0.1, max_backoff_s=0.5)
    for attempt, cap in enumerate((0.1, 0.2, 0.4, 0.5, 0.5)):
        assert cap / 2 <= retry.delay(attempt) <= cap
