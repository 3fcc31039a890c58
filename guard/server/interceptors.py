"""Cross-cutting RPC concerns: errors become statuses, and metrics per RPC.

`ServiceInterceptor` wraps every method of guard.v1.Guard: it times the call, maps exceptions to
statuses through `guard._wire.status_of` (the one error -> status table, beside its inverse), counts the request and the
verdict's detections, and tracks open streams. A bug in one request becomes INTERNAL with a generic
message for that caller; the server keeps serving everyone else.

It also takes the wire bytes over from gRPC: requests are parsed here (large ones on a worker thread, so
a 4 MB CheckBatch does not stall the event loop and health with it) and a body that does not parse,
such as a string field that is not valid UTF-8, is INVALID_ARGUMENT and counted like any bad input,
instead of gRPC's uncounted UNKNOWN (unary) or INTERNAL (stream). Large responses are serialized off
the loop the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

from guard._proto.v1 import guard_pb2 as _pb
from guard._wire import ACTION_NAMES, status_of
from guard.errors import InputError
from guard.metrics import GuardMetrics

log = logging.getLogger(__name__)

SERVICE_NAME = "guard.v1.Guard"
_PREFIX = f"/{SERVICE_NAME}/"
#: Request and response bodies larger than this are parsed or serialized on a worker thread.
INLINE_BYTES = 64 * 1024

Deserializer = Callable[[bytes], Any]
Serializer = Callable[[Any], bytes]

@dataclass
class _Call:
    """What one RPC reports to the metrics when it ends."""

    rpc: str
    role: str = "none"
    verdict: str = "none"
    code: str = "OK"


class ServiceInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no stubs
    """Error mapping and metrics for guard.v1.Guard; other services (health, reflection) pass through.

    Args:
        metrics: where to record; None records nothing (errors are still mapped).
    """

    def __init__(self, metrics: GuardMetrics | None = None) -> None:
        self._metrics = metrics

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(_PREFIX):
            return handler
        rpc = method[len(_PREFIX):]
        # No (de)serializers for gRPC: the wrappers get and return bytes (see the module docstring).
        codec = (handler.request_deserializer, handler.response_serializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(self._wrap_unary(rpc, handler.unary_unary, *codec))
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(self._wrap_stream(rpc, handler.stream_stream, *codec))
        return handler

    def _wrap_unary(self, rpc: str, behavior: Callable[..., Awaitable[Any]], parse: Deserializer,
                    serialize: Serializer) -> Callable[..., Awaitable[bytes]]:
        async def unary(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
            call = _Call(rpc)
            start = time.perf_counter()
            try:
                request = await decode(parse, body)
                call.role = _request_role(request)
                response = await behavior(request, context)
                self._observe_response(call, response)
                return await encode(serialize, response)
            except Exception as exc:  # every failure becomes a status, never a crash
                await self._abort(call, exc, context)
            except asyncio.CancelledError:
                call.code = _cancel_code(context)
                raise
            finally:
                self._finish(call, start)
        return unary

    def _wrap_stream(self, rpc: str, behavior: Callable[..., AsyncIterator[Any]], parse: Deserializer,
                     serialize: Serializer) -> Callable[..., AsyncIterator[bytes]]:
        async def stream(bodies: AsyncIterator[bytes], context: grpc.aio.ServicerContext,
                         ) -> AsyncIterator[bytes]:
            call = _Call(rpc, role="assistant")
            start = time.perf_counter()
            if self._metrics:
                self._metrics.inflight_streams.inc()
            try:
                async for response in behavior(_peek_role(_decoded(parse, bodies), call), context):
                    if response.HasField("verdict"):
                        self._observe_verdict(call, response.verdict)
                    yield await encode(serialize, response)
            except Exception as exc:
                await self._abort(call, exc, context)
            except (asyncio.CancelledError, GeneratorExit):
                # grpc cancels the task while we await, or closes the generator at a yield: both are the caller leaving
                call.code = _cancel_code(context)
                raise
            finally:
                if self._metrics:
                    self._metrics.inflight_streams.dec()
                self._finish(call, start)
        return stream

    async def _abort(self, call: _Call, exc: Exception, context: grpc.aio.ServicerContext) -> NoReturn:
        if isinstance(exc, grpc.aio.AbortError):  # already a status (raised by context.abort)
            call.code = context.code().name if context.code() else "UNKNOWN"
            raise exc
        code, message = status_of(exc)
        call.code = code.name
        await context.abort(code, message)
        raise AssertionError("context.abort returns by raising")  # for the type checker

    def _observe_response(self, call: _Call, response: Any) -> None:
        if isinstance(response, _pb.CheckResponse):
            self._observe_verdict(call, response.verdict)
        elif isinstance(response, _pb.CheckBatchResponse):
            verdicts = [item.verdict for item in response.results if item.HasField("verdict")]
            for v in verdicts:
                self._observe_verdict(call, v)
            call.verdict = ("unsafe" if any(not v.safe for v in verdicts)
                            else "safe" if verdicts else "none")

    def _observe_verdict(self, call: _Call, verdict: _pb.Verdict) -> None:
        call.role = verdict.role or call.role
        call.verdict = "safe" if verdict.safe else "unsafe"
        if self._metrics and verdict.categories:
            self._metrics.observe_detections(
                list(verdict.categories), verdict.role, ACTION_NAMES.get(verdict.action, "none"),
                {(s.category, s.source) for s in verdict.spans})

    def _finish(self, call: _Call, start: float) -> None:
        if self._metrics:
            self._metrics.observe_request(call.rpc, call.role, call.verdict, call.code,
                                          time.perf_counter() - start)


def _request_role(request: Any) -> str:
    if isinstance(request, _pb.CheckRequest) and request.messages:
        return request.messages[-1].role or "none"
    role = getattr(request, "role", None)
    if role is None:
        return "none"
    return role.strip().lower() or "user"


def _parse(parse: Deserializer, body: bytes) -> Any:
    try:
        return parse(body)
    except DecodeError:  # its message names the type only; the body is never quoted
        raise InputError("the request is not a valid message (bad encoding, or a string field that is "
                         "not valid UTF-8)") from None


async def decode(parse: Deserializer, body: bytes) -> Any:
    """The request message from its wire bytes; a large body is parsed on a worker thread.

    Raises:
        InputError: the bytes are not a valid message (INVALID_ARGUMENT, counted).
    """
    if len(body) > INLINE_BYTES:
        return await asyncio.to_thread(_parse, parse, body)
    return _parse(parse, body)


async def encode(serialize: Serializer, response: Any) -> bytes:
    """The response's wire bytes; a large one is serialized on a worker thread."""
    if response.ByteSize() > INLINE_BYTES:  # computed in C, cheap next to serializing
        return await asyncio.to_thread(serialize, response)
    return serialize(response)


async def _decoded(parse: Deserializer, bodies: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    async for body in bodies:
        yield await decode(parse, body)


async def _peek_role(requests: AsyncIterator[Any], call: _Call) -> AsyncIterator[Any]:
    """Pass the requests through, noting the stream's role from its config for the metrics."""
    first = True
    async for request in requests:
        if first and request.HasField("config") and getattr(request.config, "role", ""):  # RestoreStream: none
            call.role = request.config.role.strip().lower()
        first = False
        yield request


# The caller's deadline timer starts before ours (ours starts when we read the headers, later on a busy
# host), so a caller that leaves at its deadline can reach us while our copy still has a moment left.
DEADLINE_SLACK_S = 0.25


def _cancel_code(context: grpc.aio.ServicerContext) -> str:
    """DEADLINE_EXCEEDED when the caller left at (or just before our copy of) its deadline, else CANCELLED."""
    remaining = context.time_remaining()
    return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= DEADLINE_SLACK_S else "CANCELLED"
