"""GuardClient and AsyncGuardClient: the sidecar over gRPC, with the in-process Guard's methods and types.

    with GuardClient("127.0.0.1:50051") as client:          # or "unix:///run/kguard/guard.sock"
        v = client.check("제 주민번호는 900101-1234568이에요")  # the same Verdict as Guard.check

One channel per client, reused by every call. Calls that fail with UNAVAILABLE (server starting,
restarting or draining) are retried with exponential backoff inside the call's deadline. Failures
raise the same guard.errors types as in-process: INVALID_ARGUMENT -> InputError, RESOURCE_EXHAUSTED
-> OverloadedError, DEADLINE_EXCEEDED -> DeadlineError, anything else -> ServiceError(code).
Needs only the stubs, verdict, taxonomy and errors; never the server or the model.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from guard._proto.v1 import guard_pb2 as _pb
from guard._proto.v1 import guard_pb2_grpc as _pb_grpc
from guard.engine.base import ModelInfo
from guard.errors import DeadlineError, GuardError, InputError, OverloadedError, ServiceError
from guard.stream import StreamUpdate
from guard.taxonomy import CategoryInfo
from guard.verdict import Span, Verdict

if TYPE_CHECKING:
    from guard.policy import Overrides

DEFAULT_TARGET = "127.0.0.1:50051"
_ERROR_BY_CODE: dict[grpc.StatusCode, type[GuardError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InputError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: OverloadedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineError,
}
_ACTION_NAMES = {v: k.removeprefix("ACTION_").lower() for k, v in _pb.Action.items()}
_T = TypeVar("_T")


def error_from_status(code: grpc.StatusCode | None, details: str | None) -> GuardError:
    """The guard.errors exception for a gRPC status (the inverse of the server's table)."""
    code = code or grpc.StatusCode.UNKNOWN
    message = details or code.name
    kind = _ERROR_BY_CODE.get(code)
    return kind(message) if kind is not None else ServiceError(message, code.name)


def _error_from_name(code: str, message: str) -> GuardError:
    return error_from_status(getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN), message)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retries of UNAVAILABLE: `max_retries` more attempts, sleeping backoff_s * 2**n (jittered,
    capped at max_backoff_s), never past the call's deadline."""

    max_retries: int = 3
    backoff_s: float = 0.05
    max_backoff_s: float = 1.0

    def delay(self, attempt: int) -> float:
        # Full jitter: clients restarted together do not retry in lock-step.
        return random.uniform(0.5, 1.0) * min(self.max_backoff_s, self.backoff_s * 2.0 ** attempt)


def _target(target: str) -> str:
    """"host:port", "unix:///path" or "unix:/path" as gRPC wants it; a bare absolute path is a socket."""
    return f"unix:{target}" if target.startswith("/") else target


def _pem(value: bytes | str | Path | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).read_bytes()


def _channel_args(*, max_message_bytes: int, server_name: str | None,
                  options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    args: list[tuple[str, Any]] = [("grpc.max_receive_message_length", max_message_bytes),
                                   ("grpc.max_send_message_length", max_message_bytes)]
    if server_name:
        args.append(("grpc.ssl_target_name_override", server_name))
    return args + list(options)


def _credentials(tls: bool, root_certificates: bytes | str | Path | None,
                 client_cert: bytes | str | Path | None, client_key: bytes | str | Path | None,
                 ) -> grpc.ChannelCredentials | None:
    """TLS when asked or when any certificate is given; a client cert and key make it mutual TLS."""
    if not (tls or root_certificates or client_cert or client_key):
        return None
    if (client_cert is None) != (client_key is None):
        raise InputError("mutual TLS needs both client_cert and client_key")
    return grpc.ssl_channel_credentials(root_certificates=_pem(root_certificates),
                                        private_key=_pem(client_key), certificate_chain=_pem(client_cert))


# Requests -----------------------------------------------------------------------------------------

def overrides_to_pb(overrides: Overrides | None) -> _pb.PolicyOverrides | None:
    if overrides is None:
        return None
    msg = _pb.PolicyOverrides(
        categories_on=sorted(overrides.categories_on or ()), categories_off=sorted(overrides.categories_off),
        thresholds=dict(overrides.thresholds), actions=dict(overrides.actions))
    msg.return_masked = overrides.return_masked
    msg.return_spans = overrides.return_spans
    return msg


def _check_request(text: str | None, messages: Sequence[Mapping[str, Any]] | None, role: str | None,
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


def _stream_requests(chunks: Iterable[str], config: _pb.StreamConfig) -> Iterator[_pb.StreamRequest]:
    first: _pb.StreamConfig | None = config  # the config rides on the first chunk: one answer per chunk
    for chunk in chunks:
        yield _pb.StreamRequest(config=first, chunk=chunk)
        first = None
    if first is not None:
        yield _pb.StreamRequest(config=first)


async def _astream_requests(chunks: AsyncIterable[str] | Iterable[str], config: _pb.StreamConfig,
                            ) -> AsyncIterator[_pb.StreamRequest]:
    first: _pb.StreamConfig | None = config
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield _pb.StreamRequest(config=first, chunk=chunk)
            first = None
    else:
        for chunk in chunks:
            yield _pb.StreamRequest(config=first, chunk=chunk)
            first = None
    if first is not None:
        yield _pb.StreamRequest(config=first)


# Responses ----------------------------------------------------------------------------------------

def span_from_pb(msg: _pb.Span) -> Span:
    return Span(msg.start, msg.end, msg.type, msg.category, round(msg.score, 4), msg.source)


def verdict_from_pb(msg: _pb.Verdict) -> Verdict:
    # float32 on the wire: round back to the 4 decimals the guard reports.
    return Verdict(safe=msg.safe, categories=list(msg.categories),
                   scores={k: round(v, 4) for k, v in msg.scores.items()},
                   spans=[span_from_pb(s) for s in msg.spans],
                   action=_ACTION_NAMES.get(msg.action, "allow"),
                   masked=msg.masked if msg.HasField("masked") else None, role=msg.role)


def _batch_from_pb(msg: _pb.CheckBatchResponse, return_exceptions: bool) -> list[Verdict | GuardError]:
    out: list[Verdict | GuardError] = []
    for item in msg.results:
        if item.HasField("verdict"):
            out.append(verdict_from_pb(item.verdict))
            continue
        error = _error_from_name(item.error.code, item.error.message)
        if not return_exceptions:
            raise error
        out.append(error)
    return out


def update_from_pb(msg: _pb.StreamResponse) -> StreamUpdate:
    return StreamUpdate(text=msg.text, start=msg.start, spans=[span_from_pb(s) for s in msg.spans],
                        held=msg.held, blocked=msg.blocked,
                        verdict=verdict_from_pb(msg.verdict) if msg.HasField("verdict") else None)


def _categories_from_pb(msg: _pb.ListCategoriesResponse) -> tuple[CategoryInfo, ...]:
    return tuple(CategoryInfo(c.code, c.id, c.name_ko, c.name_en, c.pipa_basis, c.description)
                 for c in msg.categories)


def _model_info_from_pb(msg: _pb.ModelInfo) -> ModelInfo:
    return ModelInfo(name=msg.name, version=msg.version, sha256=msg.sha256, quant=msg.quant,
                     provider=msg.provider, max_length=msg.max_length, categories=tuple(msg.categories),
                     thresholds={k: round(v, 4) for k, v in msg.thresholds.items()},
                     files=dict(sorted(msg.files.items())))


class _Base:
    """The constructor and settings shared by the sync and async clients (see GuardClient)."""

    _channels: Any  # the module whose secure_channel / insecure_channel open the channel

    def __init__(self, target: str = DEFAULT_TARGET, *, timeout_s: float | None = 5.0,
                 retry: RetryPolicy | None = None, tls: bool = False,
                 root_certificates: bytes | str | Path | None = None,
                 client_cert: bytes | str | Path | None = None, client_key: bytes | str | Path | None = None,
                 server_name: str | None = None, max_message_bytes: int = 4 * 1024 * 1024,
                 options: Sequence[tuple[str, Any]] = ()) -> None:
        self.target = _target(target)
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        creds = _credentials(tls, root_certificates, client_cert, client_key)
        args = _channel_args(max_message_bytes=max_message_bytes, server_name=server_name, options=options)
        self._channel = (self._channels.secure_channel(self.target, creds, options=args) if creds
                         else self._channels.insecure_channel(self.target, options=args))
        self._stub = _pb_grpc.GuardStub(self._channel)  # type: ignore[no-untyped-call]

    def _deadline(self, timeout_s: float | None) -> float | None:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        return None if timeout is None else time.monotonic() + timeout

    def _next_delay(self, exc: grpc.RpcError, attempt: int, deadline: float | None) -> float | None:
        """Seconds to wait before retrying, or None when `exc` must be raised."""
        if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt >= self.retry.max_retries:
            return None
        delay = self.retry.delay(attempt)
        if deadline is not None and time.monotonic() + delay >= deadline:
            return None
        return delay


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class GuardClient(_Base):
    """The sidecar, synchronously. Same methods and types as guard.Guard.

    Args:
        target: "host:port", "unix:///path/to.sock" (or a bare absolute socket path).
        timeout_s: default deadline per call (None: no deadline); each method takes its own too.
        retry: retries of UNAVAILABLE.
        tls: use TLS with the system roots (implied by any certificate argument).
        root_certificates: CA to trust (PEM bytes or a file path).
        client_cert, client_key: this client's certificate and key, for mutual TLS.
        server_name: the name to check the server certificate against, if not the target host.
        max_message_bytes: largest message sent or received.
        options: more gRPC channel arguments.
    """

    _channels = grpc  # grpc.secure_channel / insecure_channel


    def _call(self, method: Callable[..., _T], request: Any, timeout_s: float | None) -> _T:
        deadline = self._deadline(timeout_s)
        attempt = 0
        while True:
            try:
                return method(request, timeout=_remaining(deadline))
            except grpc.RpcError as exc:
                delay = self._next_delay(exc, attempt, deadline)
                if delay is None:
                    raise error_from_status(exc.code(), exc.details()) from exc
            time.sleep(delay)
            attempt += 1

    def check(self, text: str | None = None, *, messages: Sequence[Mapping[str, Any]] | None = None,
              role: str | None = "user", context: str | None = None, overrides: Overrides | None = None,
              timeout_s: float | None = None) -> Verdict:
        """Judge one text, or the last message of a conversation."""
        request = _check_request(text, messages, role, context, overrides)
        return verdict_from_pb(self._call(self._stub.Check, request, timeout_s).verdict)

    def check_batch(self, texts: Sequence[str], *, role: str = "user", overrides: Overrides | None = None,
                    return_exceptions: bool = False, timeout_s: float | None = None,
                    ) -> list[Verdict | GuardError]:
        """Judge many texts; a bad item raises its error, or takes its place with return_exceptions."""
        request = _pb.CheckBatchRequest(texts=list(texts), role=role, overrides=overrides_to_pb(overrides))
        return _batch_from_pb(self._call(self._stub.CheckBatch, request, timeout_s), return_exceptions)

    def check_stream(self, chunks: Iterable[str], *, role: str = "assistant", context: str | None = None,
                     overrides: Overrides | None = None, timeout_s: float | None = None,
                     ) -> Iterator[StreamUpdate]:
        """Moderate a streamed answer: yields what is safe to show per chunk, the verdict last.
        Not retried (the chunks may not be replayable)."""
        config = _pb.StreamConfig(role=role, context=context or "", overrides=overrides_to_pb(overrides))
        call = self._stub.CheckStream(_stream_requests(chunks, config),
                                      timeout=_remaining(self._deadline(timeout_s)))
        try:
            for response in call:
                yield update_from_pb(response)
        except grpc.RpcError as exc:
            raise error_from_status(exc.code(), exc.details()) from exc
        finally:
            call.cancel()  # a caller that stops iterating early ends the stream on the server too

    def list_categories(self, *, timeout_s: float | None = None) -> tuple[CategoryInfo, ...]:
        return _categories_from_pb(self._call(self._stub.ListCategories, _pb.ListCategoriesRequest(),
                                              timeout_s))

    def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return _model_info_from_pb(self._call(self._stub.GetModelInfo, _pb.GetModelInfoRequest(), timeout_s))

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GuardClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncGuardClient(_Base):
    """The sidecar for asyncio code; the same arguments and methods as GuardClient, awaited."""

    _channels = grpc.aio


    async def _call(self, method: Callable[..., Any], request: Any, timeout_s: float | None) -> Any:
        deadline = self._deadline(timeout_s)
        attempt = 0
        while True:
            try:
                return await method(request, timeout=_remaining(deadline))
            except grpc.RpcError as exc:
                delay = self._next_delay(exc, attempt, deadline)
                if delay is None:
                    raise error_from_status(exc.code(), exc.details()) from exc
            await asyncio.sleep(delay)
            attempt += 1

    async def check(self, text: str | None = None, *, messages: Sequence[Mapping[str, Any]] | None = None,
                    role: str | None = "user", context: str | None = None,
                    overrides: Overrides | None = None, timeout_s: float | None = None) -> Verdict:
        request = _check_request(text, messages, role, context, overrides)
        return verdict_from_pb((await self._call(self._stub.Check, request, timeout_s)).verdict)

    async def check_batch(self, texts: Sequence[str], *, role: str = "user",
                          overrides: Overrides | None = None, return_exceptions: bool = False,
                          timeout_s: float | None = None) -> list[Verdict | GuardError]:
        request = _pb.CheckBatchRequest(texts=list(texts), role=role, overrides=overrides_to_pb(overrides))
        return _batch_from_pb(await self._call(self._stub.CheckBatch, request, timeout_s), return_exceptions)

    async def check_stream(self, chunks: AsyncIterable[str] | Iterable[str], *, role: str = "assistant",
                           context: str | None = None, overrides: Overrides | None = None,
                           timeout_s: float | None = None) -> AsyncIterator[StreamUpdate]:
        config = _pb.StreamConfig(role=role, context=context or "", overrides=overrides_to_pb(overrides))
        call = self._stub.CheckStream(_astream_requests(chunks, config),
                                      timeout=_remaining(self._deadline(timeout_s)))
        try:
            async for response in call:
                yield update_from_pb(response)
        except grpc.RpcError as exc:
            raise error_from_status(exc.code(), exc.details()) from exc
        finally:
            call.cancel()  # a caller that stops iterating early ends the stream on the server too

    async def list_categories(self, *, timeout_s: float | None = None) -> tuple[CategoryInfo, ...]:
        return _categories_from_pb(await self._call(self._stub.ListCategories, _pb.ListCategoriesRequest(),
                                                    timeout_s))

    async def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return _model_info_from_pb(await self._call(self._stub.GetModelInfo, _pb.GetModelInfoRequest(),
                                                    timeout_s))

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncGuardClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


__all__ = ["AsyncGuardClient", "GuardClient", "RetryPolicy", "error_from_status"]
