"""GuardClient and AsyncGuardClient: the sidecar over gRPC, with the in-process Guard's methods and types.

    with GuardClient("127.0.0.1:50051") as client:          # or "unix:///run/kguard/guard.sock"
        v = client.check("제 주민번호는 900101-1234568이에요")  # the same Verdict as Guard.check

One channel per client, reused by every call. Calls that fail with UNAVAILABLE (server starting,
restarting or draining) are retried with exponential backoff inside the call's deadline. Failures
raise the same guard.errors types as in-process: INVALID_ARGUMENT -> InputError, RESOURCE_EXHAUSTED
-> OverloadedError, DEADLINE_EXCEEDED -> DeadlineError, anything else -> ServiceError(code). A message
over the gRPC size limit is TooLargeError, never OverloadedError: refused before it is sent when this
client's limit is the one exceeded, mapped from gRPC's own RESOURCE_EXHAUSTED when the server's is.
Needs only the stubs, the wire mapping (guard._wire), verdict, overrides, taxonomy, errors and its
defaults (guard.config); never the server, the model, the policy or the stream logic.

Deadlines: a unary call has `timeout_s` (5 s by default), retries included. A stream (check_stream)
has an idle timeout instead, `stream_idle_timeout_s` (30 s by default): it fails with DeadlineError
when neither a chunk comes from the caller's iterator nor a reply from the sidecar for that long, but
it may run as long as the answer streams; `stream_timeout_s` optionally bounds its whole life.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc

from guard._proto.v1 import guard_pb2 as _pb
from guard._proto.v1 import guard_pb2_grpc as _pb_grpc
from guard._wire import (
    batch_from_pb,
    batch_request,
    categories_from_pb,
    check_request,
    error_from_status,
    model_info_from_pb,
    overrides_to_pb,
    stream_config_pb,
    update_from_pb,
    verdict_from_pb,
)
from guard.config import ClientConfig
from guard.errors import DeadlineError, GuardError, InputError, ServiceError, TooLargeError
from guard.overrides import Overrides
from guard.taxonomy import CategoryInfo
from guard.verdict import ModelInfo, StreamUpdate, Verdict

DEFAULT_TARGET = ClientConfig.target
#: A stream moderator's deadline for the whole answer: an LLM answer streams for much longer than one
#: call's default timeout.
STREAM_TIMEOUT_S = 600.0
_DEFAULTS = ClientConfig()
_T = TypeVar("_T")


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

def _stream_requests(chunks: Iterable[str], config: _pb.StreamConfig, watch: _StreamWatch,
                     ) -> Iterator[_pb.StreamRequest]:
    first: _pb.StreamConfig | None = config  # the config rides on the first chunk: one answer per chunk
    for chunk in chunks:
        watch.touch()
        yield _pb.StreamRequest(config=first, chunk=chunk)
        first = None
    if first is not None:
        yield _pb.StreamRequest(config=first)


async def _astream_requests(chunks: AsyncIterable[str] | Iterable[str], config: _pb.StreamConfig,
                            watch: _StreamWatch) -> AsyncIterator[_pb.StreamRequest]:
    first: _pb.StreamConfig | None = config
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            watch.touch()
            yield _pb.StreamRequest(config=first, chunk=chunk)
            first = None
    else:
        for chunk in chunks:
            watch.touch()
            yield _pb.StreamRequest(config=first, chunk=chunk)
            first = None
    if first is not None:
        yield _pb.StreamRequest(config=first)


@dataclass(frozen=True)
class Pseudonymized:
    """A Pseudonymize answer: the text to send the LLM, its session, the original text's verdict.

    Attributes:
        text: the pseudonymized text ("" when blocked).
        session_id: pass it to the next pseudonymize and to restore (a bearer secret: keep it from the LLM).
        verdict: the verdict of the original text (spans into it; `masked` is None).
        replaced: spans replaced.
        blocked: the policy blocks the text; it must not be sent on.
        ttl_s: seconds of idleness after which the sidecar drops the session.
    """

    text: str
    session_id: str
    verdict: Verdict
    replaced: int
    blocked: bool
    ttl_s: float


@dataclass(frozen=True)
class RestoredAnswer:
    """A Restore answer: the text with the real values, counts, and the check's verdict (when asked)."""

    text: str
    restored: int
    unknown: int
    verdict: Verdict | None = None
    blocked: bool = False


def _pseudonymize_request(text: str, session_id: str | None, role: str, context: str | None,
                          overrides: Overrides | None) -> _pb.PseudonymizeRequest:
    if not isinstance(text, str):
        raise InputError(f"text must be a string, not {type(text).__name__}")
    return _pb.PseudonymizeRequest(text=text, session_id=session_id or "", role=role, context=context or "",
                                   overrides=overrides_to_pb(overrides))


def _pseudonymized(r: _pb.PseudonymizeResponse) -> Pseudonymized:
    return Pseudonymized(r.text, r.session_id, verdict_from_pb(r.verdict), r.replaced, r.blocked, r.ttl_seconds)


def _restored(r: _pb.RestoreResponse | _pb.RestoreStreamResponse, text: str) -> RestoredAnswer:
    verdict = verdict_from_pb(r.verdict) if r.HasField("verdict") else None
    return RestoredAnswer(text, r.restored, r.unknown, verdict, r.blocked)


def _restore_stream_requests(chunks: Iterable[str], config: _pb.RestoreStreamConfig,
                             ) -> Iterator[_pb.RestoreStreamRequest]:
    yield _pb.RestoreStreamRequest(config=config)
    for chunk in chunks:
        yield _pb.RestoreStreamRequest(chunk=chunk)


class RpcStreamModerator:
    """feed/finish over one CheckStream call, like guard.stream.StreamModerator: each chunk is sent and
    its reply awaited (the server answers every chunk once). Made by GuardClient.stream_moderator."""

    def __init__(self, stub: Any, config: _pb.StreamConfig, timeout_s: float | None) -> None:
        self._chunks: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._opened = False
        self._call = stub.CheckStream(self._requests(config), timeout=timeout_s)
        self._replies = iter(self._call)

    def _requests(self, config: _pb.StreamConfig) -> Iterator[_pb.StreamRequest]:
        first: _pb.StreamConfig | None = config
        while (chunk := self._chunks.get()) is not None:
            yield _pb.StreamRequest(config=first, chunk=chunk)
            first = None
        if first is not None:
            yield _pb.StreamRequest(config=first)

    def feed(self, chunk: str) -> StreamUpdate:
        if not chunk and not self._opened:
            return StreamUpdate("", 0)  # the server does not answer an empty opening message
        self._opened = True
        self._chunks.put(chunk)
        return self._next()

    def finish(self) -> StreamUpdate:
        self._chunks.put(None)
        return self._next()

    def close(self) -> None:
        self._chunks.put(None)  # ends the request iterator gRPC reads on its own thread
        self._call.cancel()

    def _next(self) -> StreamUpdate:
        try:
            return update_from_pb(next(self._replies))
        except grpc.RpcError as exc:
            self.close()
            raise error_from_status(exc.code(), exc.details()) from exc
        except StopIteration:
            self.close()
            raise ServiceError("the stream ended before its answer", "UNKNOWN") from None


class AsyncRpcStreamModerator:
    """RpcStreamModerator for asyncio (AsyncGuardClient.stream_moderator)."""

    def __init__(self, stub: Any, config: _pb.StreamConfig, timeout_s: float | None) -> None:
        self._call = stub.CheckStream(timeout=timeout_s)
        self._config: _pb.StreamConfig | None = config

    async def feed(self, chunk: str) -> StreamUpdate:
        if not chunk and self._config is not None:
            return StreamUpdate("", 0)  # the server does not answer an empty opening message
        await self._send(_pb.StreamRequest(config=self._config, chunk=chunk))
        self._config = None
        return await self._next()

    async def finish(self) -> StreamUpdate:
        if self._config is not None:
            await self._send(_pb.StreamRequest(config=self._config))
        await self._send(None)
        return await self._next()

    def close(self) -> None:
        self._call.cancel()

    async def _send(self, request: _pb.StreamRequest | None) -> None:
        try:
            await (self._call.write(request) if request is not None else self._call.done_writing())
        except grpc.RpcError as exc:
            raise error_from_status(exc.code(), exc.details()) from exc

    async def _next(self) -> StreamUpdate:
        try:
            reply = await self._call.read()
        except grpc.RpcError as exc:
            raise error_from_status(exc.code(), exc.details()) from exc
        if reply is grpc.aio.EOF:
            raise ServiceError("the stream ended before its answer", "UNKNOWN")
        return update_from_pb(reply)
#: A call that fails this close to its deadline failed because of it (see _StreamWatch.error).
_DEADLINE_SLACK_S = 0.05


class _StreamWatch:
    """A stream's time limits. Idle: cancels the stream once nothing has moved for `idle_s` seconds (no
    chunk taken from the caller's iterator, no reply from the sidecar); chunks and replies only touch a
    clock, one thread (sync) or task (async) per stream checks it, and the time an update spends with
    the caller does not count. Total: `total_s`, the call's gRPC deadline."""

    def __init__(self, idle_s: float | None, total_s: float | None) -> None:
        self.idle_s = idle_s
        self.total_s = total_s
        self.expired = False  # the idle limit cancelled the stream
        self._ends_at = None if total_s is None else time.monotonic() + total_s
        self._last = time.monotonic()
        self._held = False
        self._done = threading.Event()
        self._task: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self._last = time.monotonic()

    def hold(self, held: bool) -> None:
        """While held (an update is with the caller), the stream is not idle."""
        self._held = held
        self.touch()

    def _due(self) -> float:
        """Seconds until the stream counts as idle (<= 0: it is)."""
        assert self.idle_s is not None
        return self.idle_s if self._held else self._last + self.idle_s - time.monotonic()

    def start_thread(self, cancel: Callable[[], object]) -> None:
        if self.idle_s is not None:
            threading.Thread(target=self._run, args=(cancel,), name="kguard-stream-idle", daemon=True).start()

    def _run(self, cancel: Callable[[], object]) -> None:
        while not self._done.wait(max(self._due(), 0.0)):
            if self._due() <= 0:
                self.expired = True
                cancel()
                return

    def start_task(self, cancel: Callable[[], object]) -> None:
        if self.idle_s is not None:
            self._task = asyncio.get_running_loop().create_task(self._arun(cancel))

    async def _arun(self, cancel: Callable[[], object]) -> None:
        while (due := self._due()) > 0:
            await asyncio.sleep(due)
        self.expired = True
        cancel()

    def stop(self) -> None:
        self._done.set()
        if self._task is not None:
            self._task.cancel()

    def error(self, exc: grpc.RpcError | None) -> GuardError:
        """The error for a stream that ended with `exc` (None: cancelled by the idle limit)."""
        if self.expired or exc is None:
            return DeadlineError(f"the stream was idle for more than {self.idle_s:g} s (no chunk and no reply)")
        if self._ends_at is not None and time.monotonic() >= self._ends_at - _DEADLINE_SLACK_S:
            # Past the deadline gRPC may report the server's reset stream as INTERNAL rather than
            # DEADLINE_EXCEEDED (deadlines are best effort over HTTP/2): it is the deadline all the same.
            return DeadlineError(f"the stream took longer than its {self.total_s:g} s deadline")
        return error_from_status(exc.code(), exc.details())


# Responses ----------------------------------------------------------------------------------------

class _Base:
    """The constructor and settings shared by the sync and async clients (see GuardClient)."""

    _channels: Any  # the module whose secure_channel / insecure_channel open the channel

    def __init__(self, target: str = DEFAULT_TARGET, *, timeout_s: float | None = _DEFAULTS.timeout_s,
                 stream_idle_timeout_s: float | None = _DEFAULTS.stream_idle_timeout_s,
                 stream_timeout_s: float | None = _DEFAULTS.stream_timeout_s,
                 retry: RetryPolicy | None = None, tls: bool = False,
                 root_certificates: bytes | str | Path | None = None,
                 client_cert: bytes | str | Path | None = None, client_key: bytes | str | Path | None = None,
                 server_name: str | None = None, max_message_bytes: int = _DEFAULTS.max_message_bytes,
                 options: Sequence[tuple[str, Any]] = ()) -> None:
        self.target = _target(target)
        self.timeout_s = timeout_s
        self.max_message_bytes = max_message_bytes
        self.stream_idle_timeout_s = stream_idle_timeout_s
        self.stream_timeout_s = stream_timeout_s
        self.retry = retry or RetryPolicy()
        creds = _credentials(tls, root_certificates, client_cert, client_key)
        args = _channel_args(max_message_bytes=max_message_bytes, server_name=server_name, options=options)
        self._channel = (self._channels.secure_channel(self.target, creds, options=args) if creds
                         else self._channels.insecure_channel(self.target, options=args))
        self._stub = _pb_grpc.GuardStub(self._channel)  # type: ignore[no-untyped-call]

    def _sized(self, request: Any) -> Any:
        """`request`, or TooLargeError when it is over this client's message-size limit (refused here
        rather than by gRPC, whose status would read as an overload)."""
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise TooLargeError(f"the request is too large: {size} bytes, over the message-size limit of "
                                f"{self.max_message_bytes} bytes")
        return request

    def _deadline(self, timeout_s: float | None) -> float | None:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        return None if timeout is None else time.monotonic() + timeout

    def _stream_setup(self, role: str, context: str | None, overrides: Overrides | None,
                      idle_timeout_s: float | None, timeout_s: float | None,
                      ) -> tuple[_pb.StreamConfig, _StreamWatch]:
        """A stream's opening config and its time limits (the client's unless given)."""
        config = stream_config_pb(role, context, overrides)
        watch = _StreamWatch(self.stream_idle_timeout_s if idle_timeout_s is None else idle_timeout_s,
                             self.stream_timeout_s if timeout_s is None else timeout_s)
        return config, watch

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
        timeout_s: default deadline per unary call (None: no deadline); each method takes its own too.
        stream_idle_timeout_s: a stream fails with DeadlineError after this long without a chunk from
            the caller or a reply from the sidecar (None: never); check_stream takes its own too.
        stream_timeout_s: a stream's whole-life deadline (None, the default: none, since LLM answers
            stream for minutes); check_stream takes its own too.
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
        request = self._sized(request)
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
        request = check_request(text, messages, role, context, overrides)
        return verdict_from_pb(self._call(self._stub.Check, request, timeout_s).verdict)

    def check_batch(self, texts: Sequence[str], *, role: str = "user", overrides: Overrides | None = None,
                    return_exceptions: bool = False, timeout_s: float | None = None,
                    ) -> list[Verdict | GuardError]:
        """Judge many texts; a bad item raises its error, or takes its place with return_exceptions."""
        request = batch_request(texts, role, overrides)
        return batch_from_pb(self._call(self._stub.CheckBatch, request, timeout_s), return_exceptions)

    def check_stream(self, chunks: Iterable[str], *, role: str = "assistant", context: str | None = None,
                     overrides: Overrides | None = None, idle_timeout_s: float | None = None,
                     timeout_s: float | None = None) -> Iterator[StreamUpdate]:
        """Moderate a streamed answer: yields what is safe to show per chunk, the verdict last.

        `idle_timeout_s` bounds the wait for each next chunk or reply and `timeout_s` the whole stream
        (None: the client's stream_idle_timeout_s, 30 s, and stream_timeout_s, none); past either,
        DeadlineError. Not retried (the chunks may not be replayable)."""
        config, watch = self._stream_setup(role, context, overrides, idle_timeout_s, timeout_s)
        call = self._stub.CheckStream(_stream_requests(chunks, config, watch), timeout=watch.total_s)
        watch.start_thread(call.cancel)
        try:
            for response in call:
                watch.hold(True)
                yield update_from_pb(response)
                watch.hold(False)
        except grpc.RpcError as exc:
            raise watch.error(exc) from exc
        finally:
            watch.stop()
            call.cancel()  # a caller that stops iterating early ends the stream on the server too

    def stream_moderator(self, *, role: str = "assistant", context: str | None = None,
                         overrides: Overrides | None = None,
                         timeout_s: float | None = STREAM_TIMEOUT_S) -> RpcStreamModerator:
        """Guard.stream_moderator over the sidecar: one CheckStream call fed chunk by chunk."""
        config = stream_config_pb(role, context, overrides)
        return RpcStreamModerator(self._stub, config, timeout_s)

    def pseudonymize(self, text: str, *, session_id: str | None = None, role: str = "user",
                     context: str | None = None, overrides: Overrides | None = None,
                     timeout_s: float | None = None) -> Pseudonymized:
        """Pseudonymize `text` in a sidecar session (a new one without `session_id`)."""
        request = _pseudonymize_request(text, session_id, role, context, overrides)
        return _pseudonymized(self._call(self._stub.Pseudonymize, request, timeout_s))

    def restore(self, text: str, *, session_id: str, check: bool = False, context: str | None = None,
                overrides: Overrides | None = None, timeout_s: float | None = None) -> RestoredAnswer:
        """Put the session's real values back into `text`; with `check`, moderate it first."""
        request = _pb.RestoreRequest(session_id=session_id, text=text, check=check, context=context or "",
                                     overrides=overrides_to_pb(overrides))
        response = self._call(self._stub.Restore, request, timeout_s)
        return _restored(response, response.text)

    def restore_stream(self, chunks: Iterable[str], *, session_id: str, check: bool = False,
                       context: str | None = None, overrides: Overrides | None = None,
                       timeout_s: float | None = None) -> Iterator[RestoredAnswer]:
        """Restore a streamed answer: one RestoredAnswer per reply (append its text); the last one has
        the counts (and the verdict with `check`)."""
        config = _pb.RestoreStreamConfig(session_id=session_id, check=check, context=context or "",
                                         overrides=overrides_to_pb(overrides))
        call = self._stub.RestoreStream(_restore_stream_requests(chunks, config), timeout=timeout_s)
        try:
            for response in call:
                yield _restored(response, response.text)
        except grpc.RpcError as exc:
            raise error_from_status(exc.code(), exc.details()) from exc
        finally:
            call.cancel()

    def end_session(self, session_id: str, *, timeout_s: float | None = None) -> bool:
        """Drop a sidecar session now; False when it was already gone."""
        request = _pb.EndSessionRequest(session_id=session_id)
        return bool(self._call(self._stub.EndSession, request, timeout_s).ended)

    def list_categories(self, *, timeout_s: float | None = None) -> tuple[CategoryInfo, ...]:
        return categories_from_pb(self._call(self._stub.ListCategories, _pb.ListCategoriesRequest(),
                                              timeout_s))

    def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return model_info_from_pb(self._call(self._stub.GetModelInfo, _pb.GetModelInfoRequest(), timeout_s))

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
        request = self._sized(request)
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
        request = check_request(text, messages, role, context, overrides)
        return verdict_from_pb((await self._call(self._stub.Check, request, timeout_s)).verdict)

    async def pseudonymize(self, text: str, *, session_id: str | None = None, role: str = "user",
                           context: str | None = None, overrides: Overrides | None = None,
                           timeout_s: float | None = None) -> Pseudonymized:
        request = _pseudonymize_request(text, session_id, role, context, overrides)
        return _pseudonymized(await self._call(self._stub.Pseudonymize, request, timeout_s))

    async def restore(self, text: str, *, session_id: str, check: bool = False, context: str | None = None,
                      overrides: Overrides | None = None, timeout_s: float | None = None) -> RestoredAnswer:
        request = _pb.RestoreRequest(session_id=session_id, text=text, check=check, context=context or "",
                                     overrides=overrides_to_pb(overrides))
        response = await self._call(self._stub.Restore, request, timeout_s)
        return _restored(response, response.text)

    async def end_session(self, session_id: str, *, timeout_s: float | None = None) -> bool:
        request = _pb.EndSessionRequest(session_id=session_id)
        return bool((await self._call(self._stub.EndSession, request, timeout_s)).ended)

    async def check_batch(self, texts: Sequence[str], *, role: str = "user",
                          overrides: Overrides | None = None, return_exceptions: bool = False,
                          timeout_s: float | None = None) -> list[Verdict | GuardError]:
        request = batch_request(texts, role, overrides)
        return batch_from_pb(await self._call(self._stub.CheckBatch, request, timeout_s), return_exceptions)

    async def check_stream(self, chunks: AsyncIterable[str] | Iterable[str], *, role: str = "assistant",
                           context: str | None = None, overrides: Overrides | None = None,
                           idle_timeout_s: float | None = None, timeout_s: float | None = None,
                           ) -> AsyncIterator[StreamUpdate]:
        """GuardClient.check_stream for asyncio; `chunks` may be an async iterable (an LLM's stream)."""
        config, watch = self._stream_setup(role, context, overrides, idle_timeout_s, timeout_s)
        call = self._stub.CheckStream(_astream_requests(chunks, config, watch), timeout=watch.total_s)
        watch.start_task(call.cancel)
        try:
            async for response in call:
                watch.hold(True)
                yield update_from_pb(response)
                watch.hold(False)
        except grpc.RpcError as exc:
            raise watch.error(exc) from exc
        except asyncio.CancelledError:
            if watch.expired:  # grpc.aio reports a cancelled call as a cancelled read
                raise watch.error(None) from None
            raise
        finally:
            watch.stop()
            call.cancel()  # a caller that stops iterating early ends the stream on the server too

    def stream_moderator(self, *, role: str = "assistant", context: str | None = None,
                         overrides: Overrides | None = None,
                         timeout_s: float | None = STREAM_TIMEOUT_S) -> AsyncRpcStreamModerator:
        config = stream_config_pb(role, context, overrides)
        return AsyncRpcStreamModerator(self._stub, config, timeout_s)

    async def list_categories(self, *, timeout_s: float | None = None) -> tuple[CategoryInfo, ...]:
        return categories_from_pb(await self._call(self._stub.ListCategories, _pb.ListCategoriesRequest(),
                                                    timeout_s))

    async def model_info(self, *, timeout_s: float | None = None) -> ModelInfo:
        return model_info_from_pb(await self._call(self._stub.GetModelInfo, _pb.GetModelInfoRequest(),
                                                    timeout_s))

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncGuardClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


__all__ = ["AsyncGuardClient", "AsyncRpcStreamModerator", "GuardClient", "RetryPolicy", "RpcStreamModerator"]
