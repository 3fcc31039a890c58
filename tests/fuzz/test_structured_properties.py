"""Property tests over structured input: the policy parser, the masking operators and request decoding.

The policy parser takes any mapping (or any file) and returns a Policy or raises ConfigError; masking
takes any text and spans and never raises or leaks a hashed value; the request path takes any
protobuf message (or any bytes) and yields a verdict or an InputError whose message carries none of
the request's text.
"""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf.message import DecodeError
from hypothesis import assume, given
from hypothesis import strategies as st

from guard import _wire
from guard._proto.v1 import guard_pb2 as pb
from guard.config import LimitsConfig
from guard.engine.fake import FakeEngine
from guard.errors import ConfigError, InputError
from guard.masking import MaskOperator, apply_masks, mask_value
from guard.policy import Policy
from guard.sdk import Guard
from guard.server.interceptors import _request_role
from guard.taxonomy import CATEGORY_CODES, SpanType
from guard.verdict import Span
from tests.fuzz.strategies import FUZZ, hostile_text

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MARK = "ZQXMARK"
_codes = st.sampled_from([*CATEGORY_CODES, "health", "p1", " s3 ", "P0", "S10", "", MARK])
_actions = st.sampled_from(["allow", "flag", "mask", "block", " MASK ", "redact", "", MARK])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True),
                     st.text(max_size=10), _actions)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(_codes, st.text(max_size=5)), inner, max_size=4)),
    max_leaves=12)
_policy_dicts = st.dictionaries(
    st.sampled_from(["masking", "thresholds", "user", "assistant", "other", MARK]),
    st.one_of(_values, st.dictionaries(_codes, st.one_of(_actions, st.floats(-1, 2), _scalars), max_size=6),
              st.sampled_from([m.value for m in MaskOperator])),
    max_size=5)


@FUZZ
@given(_policy_dicts)
def test_policy_from_dict_is_a_policy_or_a_config_error(data: dict[str, object]) -> None:
    try:
        policy = Policy.from_dict(data)
    except ConfigError as exc:
        assert MARK not in str(exc) or MARK in data  # an unknown top-level key may be named
        return
    assert all(0.0 <= v <= 1.0 for v in policy.thresholds.values())


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value).replace("inf", "inf").replace("nan", "nan")
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@FUZZ
@given(st.one_of(st.binary(max_size=300), _policy_dicts.map(lambda d: "\n".join(
    f"[{k}]\n" + "\n".join(f'"{c}" = {_toml_value(v)}' for c, v in val.items())
    if isinstance(val, dict) else f"{k} = {_toml_value(val)}" for k, val in d.items()).encode("utf-8",
                                                                                             "surrogatepass"))))
def test_policy_from_file_is_a_policy_or_a_config_error(tmp_path_factory: object, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("policy")) / "policy.toml"  # type: ignore[attr-defined]
    path.write_bytes(raw)
    try:
        Policy.from_file(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
    else:
        tomllib.loads(raw.decode("utf-8"))  # accepted only when it is TOML


_span_types = st.sampled_from(list(SpanType))


@st.composite
def _text_and_spans(draw: st.DrawFn) -> tuple[str, list[Span]]:
    text = draw(hostile_text())
    spans = []
    for _ in range(draw(st.integers(0, 6))):
        a = draw(st.integers(0, len(text)))
        b = draw(st.integers(a, len(text)))
        kind = draw(_span_types)
        spans.append(Span(a, b, kind.value, kind.category.value, 0.9, "detector"))
    return text, spans


@FUZZ
@given(_text_and_spans(), st.sampled_from(list(MaskOperator)), st.binary(min_size=16, max_size=64))
def test_masking_never_raises_and_keeps_the_text_outside_spans(case: tuple[str, list[Span]],
                                                               operator: MaskOperator, key: bytes) -> None:
    text, spans = case
    out = apply_masks(text, spans, operator, key)
    first = min((s.start for s in spans), default=len(text))
    last = max((s.end for s in spans), default=0)
    assert out.startswith(text[:first])
    assert out.endswith(text[last:]) or last <= first


@FUZZ
@given(hostile_text(max_fragments=4).filter(lambda v: len(v) >= 13), _span_types,
       st.binary(min_size=16, max_size=64))
def test_hash_masking_hides_the_value_and_depends_on_the_key(value: str, kind: SpanType, key: bytes) -> None:
    first = mask_value(value, kind, MaskOperator.HASH, key)
    assert value not in first and first == mask_value(value, kind, MaskOperator.HASH, key)
    assert first != mask_value(value, kind, MaskOperator.HASH, key + b"x")


@FUZZ
@given(hostile_text(max_fragments=4), st.sampled_from([SpanType.RRN, SpanType.PHONE, SpanType.CARD,
                                                       SpanType.ACCOUNT, SpanType.FRN]))
def test_partial_masking_shows_at_most_the_kept_digits(value: str, kind: SpanType) -> None:
    out = mask_value(value, kind, MaskOperator.PARTIAL)
    assert len(out) == len(value)
    digits = set("0123456789０１２３４５６７８９공영일이삼사오육칠팔구")
    assert sum(c in digits for c in out) <= 8  # at most head + tail digits survive


# --- the request decoding path ----------------------------------------------------------------------

_wire_text = hostile_text(surrogates=False, max_fragments=6)  # proto3 strings are UTF-8: no surrogates
_overrides = st.builds(
    pb.PolicyOverrides,
    categories_on=st.lists(_codes, max_size=3), categories_off=st.lists(_codes, max_size=3),
    thresholds=st.dictionaries(_codes, st.floats(width=32), max_size=3),
    actions=st.dictionaries(_codes, _actions, max_size=3))
_roles = st.sampled_from(["", "user", "assistant", " USER ", "system", "robot", MARK])
_messages = st.lists(st.builds(pb.Message, role=_roles, content=_wire_text), max_size=4)
_check_requests = st.builds(pb.CheckRequest, text=_wire_text, role=_roles, context=_wire_text,
                            messages=_messages, overrides=st.one_of(st.none(), _overrides))
_batch_requests = st.builds(pb.CheckBatchRequest, texts=st.lists(_wire_text, max_size=4), role=_roles,
                            overrides=st.one_of(st.none(), _overrides))
GUARD = Guard(engine=FakeEngine())


def _run_check(req: pb.CheckRequest) -> None:
    _request_role(req)  # the interceptor's metrics label: never raises
    try:
        args = _wire.check_args(req)
        verdict = GUARD.check(args.text, messages=args.messages, role=args.role, context=args.context,
                              overrides=args.overrides)
    except InputError as exc:
        assert MARK not in str(exc)  # names the field, never echoes what was sent
        return
    _wire.verdict_to_pb(verdict).SerializeToString()


@FUZZ
@given(_check_requests)
def test_check_request_becomes_a_verdict_or_an_input_error(req: pb.CheckRequest) -> None:
    _run_check(req)


@FUZZ
@given(_batch_requests)
def test_batch_request_becomes_verdicts_or_input_errors(req: pb.CheckBatchRequest) -> None:
    try:
        texts, role, overrides = _wire.batch_args(req, LimitsConfig().max_batch_items)
        results = GUARD.check_batch(texts, role=role, overrides=overrides, return_exceptions=True)
    except InputError as exc:
        assert MARK not in str(exc)
        return
    _wire.batch_to_pb(results).SerializeToString()
    assert all(MARK not in str(r) for r in results if isinstance(r, InputError))


@FUZZ
@given(st.builds(pb.StreamRequest, chunk=_wire_text, config=st.one_of(st.none(), st.builds(
    pb.StreamConfig, role=_roles, context=_wire_text, overrides=st.one_of(st.none(), _overrides)))))
def test_stream_config_is_decoded_or_refused(req: pb.StreamRequest) -> None:
    try:
        role, context, overrides = _wire.stream_config(req)
        Policy.default().resolve(role, overrides)
    except InputError as exc:
        assert MARK not in str(exc)


@FUZZ
@given(st.one_of(st.binary(max_size=300), _check_requests.map(lambda r: r.SerializeToString()).flatmap(
    lambda b: st.tuples(st.just(b), st.integers(0, max(len(b) - 1, 0)), st.integers(0, 255)).map(
        lambda t: t[0][:t[1]] + bytes([t[2]]) + t[0][t[1] + 1:]))))
def test_wire_bytes_decode_to_a_request_or_a_decode_error(raw: bytes) -> None:
    """What grpc's deserializer does with any body: a message (then the normal path) or DecodeError."""
    try:
        req = pb.CheckRequest.FromString(raw)
    except DecodeError:
        return
    assume(req.ByteSize() < 100_000)
    _run_check(req)
