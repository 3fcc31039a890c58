"""The guard.v1.Guard servicer: thin, it converts the request, awaits the shared AsyncGuard, converts back.

Errors are raised as guard.errors types and turned into statuses by the interceptor; nothing here
touches status codes or metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import grpc

from guard import _wire
from guard._proto.v1 import guard_pb2 as _pb
from guard._proto.v1 import guard_pb2_grpc as _pb_grpc
from guard.config import LimitsConfig
from guard.errors import InputError, TooLargeError
from guard.sdk import AsyncGuard
from guard.stream import DEFAULT_MAX_HOLD, AsyncStreamModerator
from guard.taxonomy import CATEGORIES

#: Stream messages read ahead of the checks; beyond it gRPC's flow control holds the client back.
_READ_AHEAD = 256
#: CheckBatch answers with more verdicts than this are converted to messages on a worker thread.
_INLINE_RESULTS = 16
#: After a stream fails, its status waits for the client to stop writing: at most this long in all, and
#: no longer than this after the last message read (a client that waits for an answer sends nothing more).
DRAIN_MAX_S = 2.0
DRAIN_IDLE_S = 0.25


class _Received:
    """What one stream has read so far: characters (held in the guard's in-flight budget) and messages.

    `dropping` is set when the handler has failed: the reader then reads the client's remaining
    messages and keeps none, so the client has stopped writing before the status goes out (see _drain).
    """

    def __init__(self, get_guard: Callable[[], AsyncGuard], limits: LimitsConfig) -> None:
        self._get_guard = get_guard
        self._limits = limits
        self.chars = 0
        self.messages = 0
        self.dropped = 0
        self.dropping = asyncio.Event()

    def count(self, request: _pb.StreamRequest) -> None:
        """Count one message; InputError past the stream limits, OverloadedError when the budget is full,
        ModelError while the model loads."""
        self.messages += 1
        if self.messages > self._limits.max_stream_messages:  # empty chunks cost work too
            raise InputError(f"the stream exceeds the limit of {self._limits.max_stream_messages} messages")
        n = len(request.chunk)
        if self.chars + n > self._limits.max_text_chars:  # too large, never "overloaded" (TooLargeError)
            raise TooLargeError(f"the stream is too large: it exceeds the limit of {self._limits.max_text_chars} "
                                "characters")
        self._get_guard().reserve(n)
        self.chars += n

    def release(self) -> None:
        if self.chars:
            self._get_guard().release(self.chars)
            self.chars = 0


async def _read_ahead(requests: AsyncIterator[_pb.StreamRequest],
                      inbox: asyncio.Queue[_pb.StreamRequest | Exception | None], received: _Received) -> None:
    """Move the client's requests into `inbox`, then None; an error goes in as itself. Past the stream
    limits (characters, messages) or the guard's in-flight budget, reading waits until the handler has
    failed and then only drops, so what waits in memory is bounded."""
    try:
        async for request in requests:
            if received.dropping.is_set():
                received.dropped += 1
                continue
            try:
                received.count(request)
            except Exception as exc:  # handed to the handler, which raises it after the chunks before it
                await inbox.put(exc)
                await received.dropping.wait()
                continue
            await inbox.put(request)
    except Exception as exc:  # the stream itself failed (a message that does not parse): nothing more to read
        await inbox.put(exc)
        return
    await inbox.put(None)


async def _next(inbox: asyncio.Queue[_pb.StreamRequest | Exception | None]) -> _pb.StreamRequest | None:
    item = await inbox.get()
    if isinstance(item, Exception):
        raise item
    return item


async def _drain(reader: asyncio.Task[None], inbox: asyncio.Queue[_pb.StreamRequest | Exception | None],
                 received: _Received) -> None:
    """Before a failed stream's status goes out, let the client finish writing: read and drop its messages
    until it half-closes, goes quiet for DRAIN_IDLE_S, or DRAIN_MAX_S has passed.

    A grpc.aio client whose write fails after the server has ended the call reports INTERNAL instead
    of the server's status (grpc/grpc#36066), so without this a producer that keeps sending sees
    "Internal error from Core" where it should see INVALID_ARGUMENT.
    """
    received.dropping.set()
    while not inbox.empty():  # a reader waiting to put a request goes on
        inbox.get_nowait()
    give_up = time.monotonic() + DRAIN_MAX_S
    while not reader.done() and time.monotonic() < give_up:
        before = received.dropped
        await asyncio.wait({reader}, timeout=DRAIN_IDLE_S)
        if received.dropped == before:
            return


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    """The caller's deadline as a time.monotonic() instant, for the batcher to drop expired work."""
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class GuardService(_pb_grpc.GuardServicer):
    """Serves one shared AsyncGuard.

    Args:
        get_guard: returns the loaded guard, or raises ModelError (-> UNAVAILABLE) while loading.
        limits: the input limits (stream length).
        stream_max_hold: the longest tail a stream holds back.
    """

    def __init__(self, get_guard: Callable[[], AsyncGuard], limits: LimitsConfig,
                 stream_max_hold: int = DEFAULT_MAX_HOLD) -> None:
        self._get_guard = get_guard
        self._limits = limits
        self._max_hold = stream_max_hold

    async def Check(self, request: _pb.CheckRequest, context: grpc.aio.ServicerContext,
                    ) -> _pb.CheckResponse:
        args = _wire.check_args(request)
        verdict = await self._get_guard().check(
            args.text, messages=args.messages, role=args.role, context=args.context,
            overrides=args.overrides, deadline=_deadline(context))
        return _pb.CheckResponse(verdict=_wire.verdict_to_pb(verdict))

    async def CheckBatch(self, request: _pb.CheckBatchRequest, context: grpc.aio.ServicerContext,
                         ) -> _pb.CheckBatchResponse:
        texts, role, overrides = _wire.batch_args(request, self._limits.max_batch_items)
        results = await self._get_guard().check_batch(
            texts, role=role, overrides=overrides, deadline=_deadline(context), return_exceptions=True)
        if len(results) > _INLINE_RESULTS:  # 256 verdicts with their spans: 0.1 s of Python on the loop
            return await asyncio.to_thread(_wire.batch_to_pb, results)
        return _wire.batch_to_pb(results)

    async def CheckStream(self, request_iterator: AsyncIterator[_pb.StreamRequest],
                          context: grpc.aio.ServicerContext) -> AsyncIterator[_pb.StreamResponse]:
        # Requests are read ahead into `inbox`: chunks that arrive while a check runs are answered with
        # empty updates and checked together with the latest one, so a fast producer cannot build a
        # backlog of checks (the protocol's "append what each response releases" still holds).
        moderator: AsyncStreamModerator | None = None
        inbox: asyncio.Queue[_pb.StreamRequest | Exception | None] = asyncio.Queue(_READ_AHEAD)
        received = _Received(self._get_guard, self._limits)
        reader = asyncio.create_task(_read_ahead(request_iterator, inbox, received))
        try:
            guard = self._get_guard()
            while (request := await _next(inbox)) is not None:
                if moderator is None:
                    role, prompt, overrides = _wire.stream_config(request)
                    moderator = AsyncStreamModerator(guard, role=role, context=prompt, overrides=overrides,
                                                     max_hold=self._max_hold,
                                                     max_chars=self._limits.max_text_chars)
                    if request.HasField("config") and not request.chunk:
                        continue  # a config-only opening message has nothing to answer
                elif request.HasField("config"):
                    raise InputError("config is allowed in the first stream message only")
                if inbox.empty():
                    update = await moderator.feed(request.chunk, deadline=_deadline(context))
                else:  # a later chunk (or the end) is already here: one check covers both
                    update = moderator.add(request.chunk)
                yield _wire.update_to_pb(update)
            if moderator is None:
                raise InputError("the stream sent no messages")
            yield _wire.update_to_pb(await moderator.finish(deadline=_deadline(context)))
        except Exception:
            await _drain(reader, inbox, received)
            raise
        finally:
            reader.cancel()
            received.release()

    async def ListCategories(self, request: _pb.ListCategoriesRequest,
                             context: grpc.aio.ServicerContext) -> _pb.ListCategoriesResponse:
        return _wire.categories_to_pb(CATEGORIES)

    async def GetModelInfo(self, request: _pb.GetModelInfoRequest,
                           context: grpc.aio.ServicerContext) -> _pb.ModelInfo:
        return _wire.model_info_to_pb(self._get_guard().info)
