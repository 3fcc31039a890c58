"""The pseudonym RPCs (Pseudonymize, Restore, RestoreStream, EndSession): the server-side sessions.

`PseudonymService` is the Guard servicer with these four RPCs added; it holds a `VaultStore` (bounded
per session and in total, expiring, cleared by the server at shutdown). Thin like the rest: it checks
with the shared AsyncGuard, pseudonymizes or restores with guard.pseudonymize / guard.restore, and
converts. No value of a session is logged, counted or put in an error; errors carry only what kind of
problem it was.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from guard import _wire as convert
from guard._proto.v1 import guard_pb2 as _pb
from guard.config import LimitsConfig
from guard.errors import InputError, TooLargeError
from guard.pseudonymize import pseudonymize_spans
from guard.restore import StreamRestorer, restore
from guard.roundtrip import PseudonymSession
from guard.sdk import AsyncGuard
from guard.server.service import GuardService, _deadline
from guard.stream import DEFAULT_MAX_HOLD, AsyncStreamModerator
from guard.vault import VaultStore
from guard.verdict import Action

#: Spans beyond which pseudonymizing (fakes are drawn and validated) runs on a worker thread.
_INLINE_SPANS = 16


class PseudonymService(GuardService):
    """GuardService plus the pseudonym RPCs, over one VaultStore.

    Args:
        get_guard, limits, stream_max_hold: as GuardService.
        vaults: the sessions.
    """

    def __init__(self, get_guard: Callable[[], AsyncGuard], limits: LimitsConfig, vaults: VaultStore,
                 stream_max_hold: int = DEFAULT_MAX_HOLD) -> None:
        super().__init__(get_guard, limits, stream_max_hold)
        self._vaults = vaults

    def _text(self, text: str) -> str:
        if len(text) > self._limits.max_text_chars:
            raise TooLargeError(f"text is too large: it exceeds the limit of {self._limits.max_text_chars} "
                                "characters")
        return text

    async def Pseudonymize(self, request: _pb.PseudonymizeRequest, context: grpc.aio.ServicerContext,
                           ) -> _pb.PseudonymizeResponse:
        vault = self._vaults.get(request.session_id) if request.session_id else None
        guard = self._get_guard()
        verdict = await guard.check(self._text(request.text), role=request.role or "user",
                                    context=request.context or None, overrides=convert._overrides_of(request),
                                    deadline=_deadline(context))
        verdict = dataclasses.replace(verdict, masked=None)
        if verdict.action == Action.BLOCK.value:
            return _pb.PseudonymizeResponse(session_id=request.session_id, verdict=convert.verdict_to_pb(verdict),
                                            blocked=True)
        vault = vault or self._vaults.open()
        styles = guard.policy.pseudonyms
        if len(verdict.spans) > _INLINE_SPANS:
            out = await asyncio.to_thread(pseudonymize_spans, request.text, verdict.spans, vault, styles)
        else:
            out = pseudonymize_spans(request.text, verdict.spans, vault, styles)
        return _pb.PseudonymizeResponse(text=out.text, session_id=vault.session_id,
                                        verdict=convert.verdict_to_pb(verdict), replaced=out.replaced,
                                        ttl_seconds=vault.limits.ttl_s)

    async def Restore(self, request: _pb.RestoreRequest, context: grpc.aio.ServicerContext) -> _pb.RestoreResponse:
        if not request.session_id:
            raise InputError("session_id is required")
        vault = self._vaults.get(request.session_id)
        text = self._text(request.text)
        if not request.check:
            out = restore(text, vault)
            return _pb.RestoreResponse(text=out.text, restored=out.restored, unknown=out.unknown)
        canonical = restore(text, vault, to="placeholder").text
        verdict = await self._get_guard().check(canonical, role="assistant", context=request.context or None,
                                                overrides=convert._overrides_of(request), deadline=_deadline(context))
        if verdict.action == Action.BLOCK.value:
            return _pb.RestoreResponse(verdict=convert.verdict_to_pb(verdict), blocked=True)
        if verdict.action == Action.MASK.value and verdict.masked is not None:
            canonical = verdict.masked
        out = restore(canonical, vault)
        return _pb.RestoreResponse(text=out.text, restored=out.restored, unknown=out.unknown,
                                   verdict=convert.verdict_to_pb(verdict))

    async def RestoreStream(self, request_iterator: AsyncIterator[_pb.RestoreStreamRequest],
                            context: grpc.aio.ServicerContext) -> AsyncIterator[_pb.RestoreStreamResponse]:
        stage: _Stage | None = None
        chars = messages = 0
        async for request in request_iterator:
            messages += 1
            chars += len(request.chunk)
            if messages > self._limits.max_stream_messages:
                raise InputError(f"the stream exceeds the limit of {self._limits.max_stream_messages} messages")
            if chars > self._limits.max_text_chars:
                raise TooLargeError(f"the stream is too large: it exceeds the limit of {self._limits.max_text_chars} "
                                    "characters")
            if stage is None:
                if not request.HasField("config") or not request.config.session_id:
                    raise InputError("the first stream message needs config with session_id")
                stage = self._stage(request.config)
            elif request.HasField("config"):
                raise InputError("config is allowed in the first stream message only")
            if request.chunk:
                yield await stage.feed(request.chunk, _deadline(context))
        if stage is None:
            raise InputError("the stream sent no messages")
        yield await stage.finish(_deadline(context))

    def _stage(self, config: _pb.RestoreStreamConfig) -> _Stage:
        vault = self._vaults.get(config.session_id)
        if not config.check:
            return _Stage(StreamRestorer(vault), None)
        overrides = convert.overrides_from_pb(config.overrides) if config.HasField("overrides") else None
        moderator = AsyncStreamModerator(self._get_guard(), role="assistant", context=config.context or None,
                                         overrides=overrides, max_hold=self._max_hold,
                                         max_chars=self._limits.max_text_chars)
        session = PseudonymSession(vault=vault)
        return _Stage(None, session.aanswer_moderator(moderator), session)

    async def EndSession(self, request: _pb.EndSessionRequest, context: grpc.aio.ServicerContext,
                         ) -> _pb.EndSessionResponse:
        return _pb.EndSessionResponse(ended=self._vaults.end(request.session_id))


class _Stage:
    """One RestoreStream: a plain restorer, or canonicalize -> moderate -> restore (check)."""

    def __init__(self, restorer: StreamRestorer | None, moderator: Any,
                 session: PseudonymSession | None = None) -> None:
        self.restorer = restorer
        self.moderator = moderator
        self.session = session
        self.blocked = False

    async def feed(self, chunk: str, deadline: float | None) -> _pb.RestoreStreamResponse:
        if self.restorer is not None:
            return _pb.RestoreStreamResponse(text=self.restorer.feed(chunk), held=self.restorer.held)
        if self.blocked:
            return _pb.RestoreStreamResponse(blocked=True)
        update = await self.moderator.feed(chunk)
        self.blocked = update.blocked
        return _pb.RestoreStreamResponse(text=update.text, held=update.held, blocked=update.blocked)

    async def finish(self, deadline: float | None) -> _pb.RestoreStreamResponse:
        if self.restorer is not None:
            text = self.restorer.finish()
            return _pb.RestoreStreamResponse(text=text, restored=self.restorer.restored,
                                             unknown=self.restorer.unknown)
        update = await self.moderator.finish()
        session = self.session
        assert session is not None
        response = _pb.RestoreStreamResponse(text="" if update.blocked else update.text, held=0,
                                             blocked=update.blocked, restored=session.restored,
                                             unknown=session.unknown)
        if update.verdict is not None:
            response.verdict.CopyFrom(convert.verdict_to_pb(update.verdict))
        return response
