"""Coverage-guided fuzz targets (atheris/libFuzzer) for the normalizer, detectors, policy parser, masking
and the request decoding path.

Run one target as a libFuzzer program (what tests/fuzz/test_atheris.py and run_atheris.py do):

    python -m tests.fuzz.atheris_targets TARGET [libFuzzer flags, e.g. -runs=5000 -max_total_time=60]

TARGET is one of `TARGETS`. An input may make a target raise only the errors its contract allows
(InputError, ConfigError, DecodeError); anything else is a crash, and libFuzzer saves the input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["guard"]):
    from google.protobuf.message import DecodeError

    from guard import _wire
    from guard._proto.v1 import guard_pb2 as pb
    from guard.detectors.registry import DetectorRegistry
    from guard.engine.fake import FakeEngine
    from guard.errors import ConfigError, InputError
    from guard.masking import MaskOperator, apply_masks
    from guard.normalize import normalize
    from guard.policy import Policy
    from guard.sdk import Guard
    from guard.taxonomy import SpanType
    from guard.verdict import Span

_REGISTRY = DetectorRegistry.default()
_GUARD = Guard(engine=FakeEngine())
_TYPES = list(SpanType)
_OPERATORS = list(MaskOperator)


def _text(fdp: atheris.FuzzedDataProvider, limit: int = 4096) -> str:
    # Unicode of any width, lone surrogates included (ConsumeUnicode picks ASCII, UTF-16 or UTF-32).
    return str(fdp.ConsumeUnicode(limit))


def fuzz_normalize(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    text = _text(fdp)
    norm = normalize(text)
    if normalize(norm.text).text != norm.text:
        raise AssertionError("normalize is not idempotent")
    start = fdp.ConsumeIntInRange(0, len(norm.text))
    end = fdp.ConsumeIntInRange(start, len(norm.text))
    a, b = norm.to_original(start, end)
    if not 0 <= a <= b <= len(text):
        raise AssertionError("span mapped outside the original")


def fuzz_detectors(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    text = _text(fdp)
    for candidate in (text, normalize(text).text):
        matches = _REGISTRY.analyze(candidate)
        for m in matches:
            if not 0 <= m.start < m.end <= len(candidate):
                raise AssertionError("match outside the text")
        for a, b in zip(matches, matches[1:], strict=False):
            if a.end > b.start:
                raise AssertionError("overlapping matches")


_KEYS = ("masking", "thresholds", "user", "assistant", "P1", "S9", "health", "p5", "x", "")
_WORDS = ("allow", "flag", "mask", "block", "partial", "hash", "placeholder", " MASK ", "", "P2")


def _value(fdp: atheris.FuzzedDataProvider, depth: int) -> object:
    kind = fdp.ConsumeIntInRange(0, 7 if depth < 3 else 4)
    if kind == 0:
        return fdp.ConsumeFloat()
    if kind == 1:
        return fdp.ConsumeInt(4)
    if kind == 2:
        return _WORDS[fdp.ConsumeIntInRange(0, len(_WORDS) - 1)]
    if kind == 3:
        return fdp.ConsumeBool()
    if kind == 4:
        return _text(fdp, 16)
    if kind == 5:
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    return _table(fdp, depth + 1)


def _table(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> dict[str, object]:
    out: dict[str, object] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 5)):
        key = _KEYS[fdp.ConsumeIntInRange(0, len(_KEYS) - 1)] if fdp.ConsumeBool() else _text(fdp, 8)
        out[key] = _value(fdp, depth)
    return out


def fuzz_policy(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    try:
        Policy.from_dict(_table(fdp))
    except ConfigError:
        pass


def fuzz_masking(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    operator = _OPERATORS[fdp.ConsumeIntInRange(0, len(_OPERATORS) - 1)]
    key = fdp.ConsumeBytes(32) + b"0123456789abcdef"
    spans = []
    for _ in range(fdp.ConsumeIntInRange(0, 5)):
        kind = _TYPES[fdp.ConsumeIntInRange(0, len(_TYPES) - 1)]
        a, b = sorted((fdp.ConsumeIntInRange(0, 4096), fdp.ConsumeIntInRange(0, 4096)))
        spans.append((a, b, kind))
    text = _text(fdp)
    clipped = [Span(min(a, len(text)), min(b, len(text)), k.value, k.category.value, 0.9, "detector")
               for a, b, k in spans]
    apply_masks(text, clipped, operator, key)


def fuzz_decode(data: bytes) -> None:
    try:
        req = pb.CheckRequest.FromString(data)
    except DecodeError:
        return
    try:
        args = _wire.check_args(req)
        verdict = _GUARD.check(args.text, messages=args.messages, role=args.role, context=args.context,
                               overrides=args.overrides)
    except InputError:
        return
    _wire.verdict_to_pb(verdict).SerializeToString()


TARGETS: dict[str, Callable[[bytes], None]] = {
    "normalize": fuzz_normalize,
    "detectors": fuzz_detectors,
    "policy": fuzz_policy,
    "masking": fuzz_masking,
    "decode": fuzz_decode,
}


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: {argv[0]} {{{','.join(TARGETS)}}} [libFuzzer flags]")
    target = TARGETS[argv[1]]
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
