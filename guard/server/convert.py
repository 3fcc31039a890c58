"""Conversions between the wire messages (guard._proto) and the SDK's types, server side.

Requests become plain arguments for AsyncGuard (checked: bad shapes raise InputError naming the field,
never echoing the text); Verdicts, categories and model info become messages. The client's inverse
conversions live in guard.client, which must not import the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from guard._proto.v1 import guard_pb2 as _pb
from guard.engine.base import ModelInfo
from guard.errors import GuardError, InputError
from guard.policy import Overrides
from guard.stream import StreamUpdate
from guard.taxonomy import CategoryInfo, parse_role
from guard.verdict import Action, Span, Verdict

_ACTION_TO_PB = {
    Action.ALLOW.value: _pb.ACTION_ALLOW,
    Action.FLAG.value: _pb.ACTION_FLAG,
    Action.MASK.value: _pb.ACTION_MASK,
    Action.BLOCK.value: _pb.ACTION_BLOCK,
}


@dataclass(frozen=True)
class CheckArgs:
    """The arguments of one AsyncGuard.check call."""

    text: str | None
    messages: list[dict[str, Any]] | None
    role: str | None
    context: str | None
    overrides: Overrides | None


def overrides_from_pb(msg: _pb.PolicyOverrides | None) -> Overrides | None:
    """PolicyOverrides -> validated Overrides (InputError naming the bad field); None when absent."""
    if msg is None:
        return None
    return Overrides(
        categories_on=frozenset(msg.categories_on) if msg.categories_on else None,
        categories_off=frozenset(msg.categories_off),
        thresholds=dict(msg.thresholds),
        actions=dict(msg.actions),
        return_masked=msg.return_masked if msg.HasField("return_masked") else True,
        return_spans=msg.return_spans if msg.HasField("return_spans") else True,
    ).validated()


def _overrides_of(msg: Any) -> Overrides | None:
    return overrides_from_pb(msg.overrides) if msg.HasField("overrides") else None


def check_args(req: _pb.CheckRequest) -> CheckArgs:
    """CheckRequest -> CheckArgs: text or messages (the guard rejects both or neither)."""
    messages = [{"role": m.role, "content": m.content} for m in req.messages] if req.messages else None
    text = req.text if (req.text or messages is None) else None
    return CheckArgs(text=text, messages=messages, role=req.role or None, context=req.context or None,
                     overrides=_overrides_of(req))


def batch_args(req: _pb.CheckBatchRequest, max_items: int) -> tuple[list[str], str, Overrides | None]:
    """CheckBatchRequest -> texts, role, overrides; a bad role fails the whole call, not each item.
    Too many items is refused before the texts become Python strings (400,000 empty ones cost 114 MB)."""
    if len(req.texts) > max_items:
        raise InputError(f"batch of {len(req.texts)} items exceeds the limit of {max_items}")
    return list(req.texts), parse_role(req.role or "user").value, _overrides_of(req)


def stream_config(req: _pb.StreamRequest) -> tuple[str, str | None, Overrides | None]:
    """The first StreamRequest's config: role (default assistant), context, overrides."""
    cfg = req.config
    overrides = overrides_from_pb(cfg.overrides) if cfg.HasField("overrides") else None
    return cfg.role or "assistant", cfg.context or None, overrides


def span_to_pb(span: Span) -> _pb.Span:
    return _pb.Span(start=span.start, end=span.end, type=span.type, category=span.category,
                    score=span.score, source=span.source)


def verdict_to_pb(verdict: Verdict) -> _pb.Verdict:
    msg = _pb.Verdict(
        safe=verdict.safe,
        categories=verdict.categories,
        scores=verdict.scores,
        spans=[span_to_pb(s) for s in verdict.spans],
        action=_ACTION_TO_PB.get(verdict.action, _pb.ACTION_UNSPECIFIED),
        role=verdict.role,
    )
    if verdict.masked is not None:
        msg.masked = verdict.masked
    return msg


def batch_to_pb(results: Sequence[Verdict | GuardError], code_of: Any) -> _pb.CheckBatchResponse:
    """One BatchItem per result; errors carry the status code name from `code_of(error)`."""
    items = []
    for r in results:
        if isinstance(r, Verdict):
            items.append(_pb.BatchItem(verdict=verdict_to_pb(r)))
        else:
            code, message = code_of(r)
            items.append(_pb.BatchItem(error=_pb.ItemError(code=code, message=message)))
    return _pb.CheckBatchResponse(results=items)


def update_to_pb(update: StreamUpdate) -> _pb.StreamResponse:
    msg = _pb.StreamResponse(text=update.text, start=update.start,
                             spans=[span_to_pb(s) for s in update.spans], held=update.held,
                             blocked=update.blocked)
    if update.verdict is not None:
        msg.verdict.CopyFrom(verdict_to_pb(update.verdict))
    return msg


def categories_to_pb(categories: Sequence[CategoryInfo]) -> _pb.ListCategoriesResponse:
    return _pb.ListCategoriesResponse(categories=[
        _pb.CategoryInfo(code=c.code, id=c.id, name_ko=c.name_ko, name_en=c.name_en,
                         pipa_basis=c.pipa_basis, description=c.description) for c in categories])


def model_info_to_pb(info: ModelInfo) -> _pb.ModelInfo:
    return _pb.ModelInfo(name=info.name, version=info.version, sha256=info.sha256, quant=info.quant,
                         provider=info.provider, max_length=info.max_length,
                         categories=list(info.categories), thresholds=dict(info.thresholds),
                         files=dict(info.files))
