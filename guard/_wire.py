"""The wire mapping, both directions, written once: guard._proto messages <-> the SDK's types, and the
error <-> status tables. The client (guard.client) and the server (guard.server) both use it; it needs
only the stubs, verdict, overrides, taxonomy and errors, never the server, the model or the policy.

Requests become plain arguments (bad shapes raise InputError naming the field, never echoing the
text); Verdicts, stream updates, categories and model info become messages and back. Scores travel as
float32 and are rounded back to the 4 decimals the guard reports.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from guard._proto.v1 import guard_pb2 as _pb
from guard.errors import (
    ConfigError,
    DeadlineError,
    GuardError,
    InputError,
    ModelError,
    OverloadedError,
    ServiceError,
    TooLargeError,
)
from guard.overrides import Overrides
from guard.taxonomy import CategoryInfo, parse_role
from guard.verdict import Action, ModelInfo, Span, StreamUpdate, Verdict

log = logging.getLogger(__name__)

# Tables -------------------------------------------------------------------------------------------

#: Action <-> the proto enum (ACTION_ALLOW ...), both ways from one table.
ACTION_TO_PB: dict[str, _pb.Action] = {a.value: _pb.Action.Value(f"ACTION_{a.name}") for a in Action}
ACTION_NAMES: dict[int, str] = {int(v): k for k, v in ACTION_TO_PB.items()}

#: The error -> status table; `error_from_status` maps these codes back to the same exception types.
STATUS_BY_ERROR: tuple[tuple[type[GuardError], grpc.StatusCode], ...] = (
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeadlineError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (ModelError, grpc.StatusCode.UNAVAILABLE),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
)
#: The client side: the codes that come back as their own type (the rest are ServiceError(code)).
_ERROR_BY_CODE: dict[grpc.StatusCode, type[GuardError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InputError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: OverloadedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineError,
}
_SIZE_REFUSAL = "message larger than max"  # gRPC core's wording, client and server side
_INTERNAL_MESSAGE = "internal error (see the server log; no input is logged)"


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status and message for an exception (server side). GuardError messages never carry input
    text (their contract); anything else is a bug and gets a generic message, its details only in the log."""
    for kind, code in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return code, str(exc)
    # Log the type and the frames, not str(exc): a foreign exception's message might quote input.
    log.error("unexpected %s in an RPC:\n%s", type(exc).__name__,
              "".join(traceback.format_tb(exc.__traceback__)))
    return grpc.StatusCode.INTERNAL, _INTERNAL_MESSAGE


def status_name_of(exc: BaseException) -> tuple[str, str]:
    """status_of with the code's name, for per-item errors in CheckBatch."""
    code, message = status_of(exc)
    return code.name, message


def error_from_status(code: grpc.StatusCode | None, details: str | None) -> GuardError:
    """The guard.errors exception for a gRPC status (client side, the inverse of status_of)."""
    code = code or grpc.StatusCode.UNKNOWN
    message = details or code.name
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and _SIZE_REFUSAL in message:
        # gRPC refuses an oversized message with the status the server sheds load with; its details
        # ("Received message larger than max (N vs. M)") carry sizes only.
        return TooLargeError(f"the message is too large for the gRPC size limit: {message}")
    kind = _ERROR_BY_CODE.get(code)
    return kind(message) if kind is not None else ServiceError(message, code.name)


def error_from_name(code: str, message: str) -> GuardError:
    """error_from_status for a code given by name (a CheckBatch item's error)."""
    return error_from_status(getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN), message)


# Requests -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckArgs:
    """The arguments of one check call, as a CheckRequest carries them."""

    text: str | None
    messages: list[dict[str, Any]] | None
    role: str | None
    context: str | None
    overrides: Overrides | None


def overrides_to_pb(overrides: Overrides | None) -> _pb.PolicyOverrides | None:
    if overrides is None:
        return None
    msg = _pb.PolicyOverrides(
        categories_on=sorted(overrides.categories_on or ()), categories_off=sorted(overrides.categories_off),
        thresholds=dict(overrides.thresholds), actions=dict(overrides.actions))
    msg.return_masked = overrides.return_masked
    msg.return_spans = overrides.return_spans
    return msg


def overrides_from_pb(msg: _pb.PolicyOverrides | None) -> Overrides | None:
    """PolicyOverrides -> Overrides (checked where the policy resolves them); None when absent."""
    if msg is None:
        return None
    return Overrides(
        categories_on=frozenset(msg.categories_on) if msg.categories_on else None,
        categories_off=frozenset(msg.categories_off),
        thresholds=dict(msg.thresholds),
        actions=dict(msg.actions),
        return_masked=msg.return_masked if msg.HasField("return_masked") else True,
        return_spans=msg.return_spans if msg.HasField("return_spans") else True,
    )


def _overrides_of(msg: Any) -> Overrides | None:
    return overrides_from_pb(msg.overrides) if msg.HasField("overrides") else None


def check_request(text: str | None, messages: Sequence[Mapping[str, Any]] | None, role: str | None,
                  context: str | None, overrides: Overrides | None) -> _pb.CheckRequest:
    if (text is None) == (messages is None):
        raise InputError("give either text or messages, not both and not neither")
    if text is not None and not isinstance(text, str):
        raise InputError(f"text must be a string, not {type(text).__name__}")
    req = _pb.CheckRequest(text=text or "", role=role or "", context=context or "",
                           overrides=overrides_to_pb(overrides))
    for m in messages or ():
        req.messages.append(_pb.Message(role=str(m.get("role", "")), content=str(m.get("content", ""))))
    return req


def check_args(req: _pb.CheckRequest) -> CheckArgs:
    """CheckRequest -> CheckArgs: text or messages (the guard rejects both or neither)."""
    messages = [{"role": m.role, "content": m.content} for m in req.messages] if req.messages else None
    text = req.text if (req.text or messages is None) else None
    return CheckArgs(text=text, messages=messages, role=req.role or None, context=req.context or None,
                     overrides=_overrides_of(req))


def batch_request(texts: Sequence[str], role: str, overrides: Overrides | None) -> _pb.CheckBatchRequest:
    return _pb.CheckBatchRequest(texts=list(texts), role=role, overrides=overrides_to_pb(overrides))


def batch_args(req: _pb.CheckBatchRequest, max_items: int) -> tuple[list[str], str, Overrides | None]:
    """CheckBatchRequest -> texts, role, overrides; a bad role fails the whole call, not each item.
    Too many items is refused before the texts become Python strings (400,000 empty ones cost 114 MB)."""
    if len(req.texts) > max_items:
        raise InputError(f"batch of {len(req.texts)} items exceeds the limit of {max_items}")
    return list(req.texts), parse_role(req.role or "user").value, _overrides_of(req)


def stream_config_pb(role: str, context: str | None, overrides: Overrides | None) -> _pb.StreamConfig:
    return _pb.StreamConfig(role=role, context=context or "", overrides=overrides_to_pb(overrides))


def stream_config(req: _pb.StreamRequest) -> tuple[str, str | None, Overrides | None]:
    """The first StreamRequest's config: role (default assistant), context, overrides."""
    cfg = req.config
    overrides = overrides_from_pb(cfg.overrides) if cfg.HasField("overrides") else None
    return cfg.role or "assistant", cfg.context or None, overrides


# Responses ----------------------------------------------------------------------------------------

def span_to_pb(span: Span) -> _pb.Span:
    return _pb.Span(start=span.start, end=span.end, type=span.type, category=span.category,
                    score=span.score, source=span.source)


def span_from_pb(msg: _pb.Span) -> Span:
    return Span(msg.start, msg.end, msg.type, msg.category, round(msg.score, 4), msg.source)


def verdict_to_pb(verdict: Verdict) -> _pb.Verdict:
    msg = _pb.Verdict(
        safe=verdict.safe,
        categories=verdict.categories,
        scores=verdict.scores,
        spans=[span_to_pb(s) for s in verdict.spans],
        action=ACTION_TO_PB.get(verdict.action, _pb.ACTION_UNSPECIFIED),
        role=verdict.role,
    )
    if verdict.masked is not None:
        msg.masked = verdict.masked
    return msg


def verdict_from_pb(msg: _pb.Verdict) -> Verdict:
    return Verdict(safe=msg.safe, categories=list(msg.categories),
                   scores={k: round(v, 4) for k, v in msg.scores.items()},
                   spans=[span_from_pb(s) for s in msg.spans],
                   action=ACTION_NAMES.get(msg.action, Action.ALLOW.value),
                   masked=msg.masked if msg.HasField("masked") else None, role=msg.role)


def batch_to_pb(results: Sequence[Verdict | GuardError]) -> _pb.CheckBatchResponse:
    """One BatchItem per result; an error carries its status code's name (status_of)."""
    items = []
    for r in results:
        if isinstance(r, Verdict):
            items.append(_pb.BatchItem(verdict=verdict_to_pb(r)))
        else:
            code, message = status_name_of(r)
            items.append(_pb.BatchItem(error=_pb.ItemError(code=code, message=message)))
    return _pb.CheckBatchResponse(results=items)


def batch_from_pb(msg: _pb.CheckBatchResponse, return_exceptions: bool) -> list[Verdict | GuardError]:
    out: list[Verdict | GuardError] = []
    for item in msg.results:
        if item.HasField("verdict"):
            out.append(verdict_from_pb(item.verdict))
            continue
        error = error_from_name(item.error.code, item.error.message)
        if not return_exceptions:
            raise error
        out.append(error)
    return out


def update_to_pb(update: StreamUpdate) -> _pb.StreamResponse:
    msg = _pb.StreamResponse(text=update.text, start=update.start,
                             spans=[span_to_pb(s) for s in update.spans], held=update.held,
                             blocked=update.blocked)
    if update.verdict is not None:
        msg.verdict.CopyFrom(verdict_to_pb(update.verdict))
    return msg


def update_from_pb(msg: _pb.StreamResponse) -> StreamUpdate:
    return StreamUpdate(text=msg.text, start=msg.start, spans=[span_from_pb(s) for s in msg.spans],
                        held=msg.held, blocked=msg.blocked,
                        verdict=verdict_from_pb(msg.verdict) if msg.HasField("verdict") else None)


def categories_to_pb(categories: Sequence[CategoryInfo]) -> _pb.ListCategoriesResponse:
    return _pb.ListCategoriesResponse(categories=[
        _pb.CategoryInfo(code=c.code, id=c.id, name_ko=c.name_ko, name_en=c.name_en,
                         pipa_basis=c.pipa_basis, description=c.description) for c in categories])


def categories_from_pb(msg: _pb.ListCategoriesResponse) -> tuple[CategoryInfo, ...]:
    return tuple(CategoryInfo(c.code, c.id, c.name_ko, c.name_en, c.pipa_basis, c.description)
                 for c in msg.categories)


def model_info_to_pb(info: ModelInfo) -> _pb.ModelInfo:
    return _pb.ModelInfo(name=info.name, version=info.version, sha256=info.sha256, quant=info.quant,
                         provider=info.provider, max_length=info.max_length,
                         categories=list(info.categories), thresholds=dict(info.thresholds),
                         files=dict(info.files))


def model_info_from_pb(msg: _pb.ModelInfo) -> ModelInfo:
    return ModelInfo(name=msg.name, version=msg.version, sha256=msg.sha256, quant=msg.quant,
                     provider=msg.provider, max_length=msg.max_length, categories=tuple(msg.categories),
                     thresholds={k: round(v, 4) for k, v in msg.thresholds.items()},
                     files=dict(sorted(msg.files.items())))
