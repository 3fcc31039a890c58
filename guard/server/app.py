"""The sidecar: a grpc.aio server around one shared AsyncGuard, with health, reflection and metrics.

Start-up: bind (TCP or a unix socket, optionally TLS or mutual TLS), answer health with NOT_SERVING,
load the model, run its canaries (guard.selftest) and warm it up, then SERVING. A unix socket that
another server still answers on is never taken over; TLS files are checked first, so a bad one is
named. Shutdown (SIGTERM, SIGINT): health NOT_SERVING, stop accepting, answer everything already
accepted (up to `grace_s`), then stop what is still computing at its next slice, and exit: the grace
period bounds the exit, whatever the size of the texts in progress. `kguard serve` (guard/cli.py,
where the command line and the environment are read) calls `run_serve`; tests use `GuardServer` on
port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import ssl
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health as _health
from grpc_health.v1 import health_pb2 as _health_pb2
from grpc_health.v1 import health_pb2_grpc as _health_grpc
from grpc_reflection.v1alpha import reflection as _reflection
from prometheus_client import CollectorRegistry, start_http_server

from guard import heap
from guard._proto.v1 import guard_pb2 as _pb
from guard._proto.v1 import guard_pb2_grpc as _pb_grpc
from guard.batcher import BatchObserver
from guard.config import ClientConfig, GuardConfig, ServerConfig, serve_defaults
from guard.errors import ConfigError, GuardError, ModelError
from guard.metrics import GuardMetrics
from guard.sdk import AsyncGuard
from guard.server.interceptors import SERVICE_NAME, ServiceInterceptor
from guard.server.pseudonym import PseudonymService
from guard.vault import VaultLimits, VaultStore, load_vault_key

log = logging.getLogger(__name__)

GuardFactory = Callable[[BatchObserver], AsyncGuard]
_SERVING = _health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = _health_pb2.HealthCheckResponse.NOT_SERVING
MAX_PORT = 65535
_SOCKET_PROBE_S = 1.0  # how long to wait for a socket at our path to accept a connection


def socket_path(value: str) -> Path:
    """A unix socket setting ("/run/kguard.sock", "unix:/run/...", "unix:///run/...") as a path."""
    for prefix in ("unix://", "unix:"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    return Path(value).resolve()


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}") from None


def _ssl_reason(exc: ssl.SSLError) -> str:
    reason = exc.reason or (exc.args[-1] if exc.args else "")
    return str(reason).lower().replace("_", " ")


def _check_tls_files(cert: Path, key: Path, client_ca: Path | None) -> None:
    """Parse the PEM files before gRPC sees them: it only says "cannot listen" about any of them.
    ConfigError naming the file that is wrong."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for path, what in ((cert, "TLS certificate"), (client_ca, "TLS client CA")):
        if path is None:
            continue
        try:
            ctx.load_verify_locations(cafile=str(path))
        except ssl.SSLError as exc:
            raise ConfigError(f"the {what} file {path} holds no valid PEM certificate "
                              f"({_ssl_reason(exc)})") from None
    try:
        ctx.load_cert_chain(str(cert), str(key), password=lambda: b"")  # never prompt on a terminal
    except ssl.SSLError as exc:
        reason = _ssl_reason(exc)
        if "mismatch" in reason:
            raise ConfigError(f"the TLS key file {key} does not match the certificate {cert}") from None
        raise ConfigError(f"the TLS key file {key} holds no usable PEM private key ({reason})") from None


def _credentials(cfg: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS from the certificate files; with a client CA, mutual TLS (clients must present a cert)."""
    if cfg.tls_cert is None and cfg.tls_key is None:
        if cfg.tls_client_ca is not None:
            raise ConfigError("tls_client_ca needs tls_cert and tls_key")
        return None
    if cfg.tls_cert is None or cfg.tls_key is None:
        raise ConfigError("TLS needs both tls_cert and tls_key")
    key, cert = _read(cfg.tls_key, "TLS key"), _read(cfg.tls_cert, "TLS certificate")
    client_ca = _read(cfg.tls_client_ca, "TLS client CA")
    assert key is not None and cert is not None
    _check_tls_files(cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca)
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


def _prepare_socket(path: Path) -> None:
    """Make the socket's folder (owner-only when we create it) and clear a stale socket file; refuse a
    socket that a live server still answers on (unlinking it would cut that server off silently)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ConfigError(f"{path} exists and is not a socket")
        if _socket_answers(path):
            raise ConfigError(f"{path}: another server is listening on this socket")
        path.unlink()


def _socket_answers(path: Path) -> bool:
    """Whether something accepts connections on the unix socket `path` (False: stale, safe to replace).
    ConfigError when it cannot tell (e.g. no permission to connect)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(_SOCKET_PROBE_S)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError as exc:
            raise ConfigError(f"{path}: cannot tell whether a server uses this socket "
                              f"({exc.strerror or type(exc).__name__})") from None
    return True


def _check_ports(cfg: ServerConfig) -> None:
    """Ports in range: gRPC would silently wrap 70000 around to 4464."""
    if not cfg.unix_socket and not 0 <= cfg.port <= MAX_PORT:
        raise ConfigError(f"port {cfg.port} is out of range (0-{MAX_PORT})")
    if cfg.metrics_port > MAX_PORT:
        raise ConfigError(f"metrics port {cfg.metrics_port} is out of range (0-{MAX_PORT}, negative: off)")


class GuardServer:
    """One sidecar instance. `await start()` binds and loads; `await stop()` drains.

    Args:
        config: all settings (server, batcher, limits, engine, policy file); default serve_defaults().
        guard: an AsyncGuard to serve (not started yet); its batch metrics are not recorded unless it
            was built with `observer=server.metrics`.
        guard_factory: builds the AsyncGuard from the metrics observer, off the event loop (default:
            the configured model).
        registry: the Prometheus registry (a fresh one by default).
        vaults: the pseudonym sessions (default: VaultStore's bounds, values sealed when KGUARD_VAULT_KEY
            is set).
    """

    def __init__(self, config: GuardConfig | None = None, *, guard: AsyncGuard | None = None,
                 guard_factory: GuardFactory | None = None,
                 registry: CollectorRegistry | None = None, vaults: VaultStore | None = None) -> None:
        self.config = config or serve_defaults()
        self.metrics = GuardMetrics(registry or CollectorRegistry())
        self._given = guard
        self._factory = guard_factory or (lambda observer: AsyncGuard(config=self.config, observer=observer))
        self._guard: AsyncGuard | None = None
        self._server: grpc.aio.Server | None = None
        self._health = _health.aio.HealthServicer()
        self._httpd: WSGIServer | None = None
        self._http_thread: threading.Thread | None = None
        self._socket: Path | None = None
        self.port: int | None = None
        self.metrics_port: int | None = None
        self.target = ""
        self.bound = asyncio.Event()
        self.ready = asyncio.Event()
        #: The pseudonym sessions (in memory only; dropped at shutdown).
        self.vaults = vaults or VaultStore(limits=VaultLimits(), key=load_vault_key())

    def _get_guard(self) -> AsyncGuard:
        if self._guard is None:
            raise ModelError("the model is still loading")
        return self._guard

    async def start(self) -> None:
        """Bind and serve health (NOT_SERVING), load and warm the guard, then report SERVING."""
        cfg = self.config.server
        _check_ports(cfg)
        heap.limit_arenas(cfg.malloc_arenas)  # before the model's and the batcher's threads start
        self._metrics_http(cfg)
        server = grpc.aio.server(interceptors=[ServiceInterceptor(self.metrics)], options=[
            ("grpc.max_receive_message_length", cfg.max_message_bytes),
            ("grpc.max_send_message_length", cfg.max_message_bytes),
            ("grpc.so_reuseport", 0),  # a second server on a busy port must fail, not share it
        ])
        self._server = server
        _pb_grpc.add_GuardServicer_to_server(  # type: ignore[no-untyped-call]
            PseudonymService(self._get_guard, self.config.limits, self.vaults), server)
        _health_grpc.add_HealthServicer_to_server(self._health, server)
        _reflection.enable_server_reflection((
            _pb.DESCRIPTOR.services_by_name["Guard"].full_name,
            _health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            _reflection.SERVICE_NAME), server)
        for service in ("", SERVICE_NAME):
            await self._health.set(service, _NOT_SERVING)
        try:
            self._bind(server, cfg)
            await server.start()
            self.bound.set()
            await self._load()
        except BaseException:
            await self._teardown(0)
            raise
        for service in ("", SERVICE_NAME):
            await self._health.set(service, _SERVING)
        self.ready.set()
        log.info("serving on %s", self.target)

    def _bind(self, server: grpc.aio.Server, cfg: ServerConfig) -> None:
        creds = _credentials(cfg)
        if cfg.unix_socket:
            path = socket_path(cfg.unix_socket)
            _prepare_socket(path)
            address = f"unix:{path}"
        else:
            address = f"[{cfg.host}]:{cfg.port}" if ":" in cfg.host else f"{cfg.host}:{cfg.port}"
        # gRPC creates (and listens on) the socket file here, with the process umask: create it
        # owner-only from the start, not just after the chmod below (no window for other users).
        umask = os.umask(0o177) if cfg.unix_socket else None
        try:
            port = server.add_secure_port(address, creds) if creds else server.add_insecure_port(address)
        except RuntimeError:
            raise ConfigError(f"cannot listen on {address}") from None
        finally:
            if umask is not None:
                os.umask(umask)
        if cfg.unix_socket:
            self._socket = path
            os.chmod(path, 0o600)  # only this user (the app container runs as the same uid)
            self.target = f"unix://{path}"
        else:
            self.port = port
            host = cfg.host if cfg.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
            self.target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _metrics_http(self, cfg: ServerConfig) -> None:
        if cfg.metrics_port < 0:  # negative: no metrics endpoint
            return
        try:
            self._httpd, self._http_thread = start_http_server(
                cfg.metrics_port, addr=cfg.metrics_host, registry=self.metrics.registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {cfg.metrics_host}:{cfg.metrics_port}: "
                              f"{exc.strerror}") from None
        self.metrics_port = self._httpd.server_port

    async def _load(self) -> None:
        guard = self._given
        if guard is None:
            # Loading the model reads and checks files for a while: keep the loop answering health.
            guard = await asyncio.to_thread(self._factory, self.metrics)
        await guard.start()
        self.metrics.set_model_info(guard.info)
        self.metrics.set_queue_capacity(self.config.batcher.max_queue)
        # The batcher reports its depth on enqueue only; read it live at scrape time so the gauge
        # falls back to 0 when the queue drains instead of keeping the last enqueue's depth.
        self.metrics.queue_depth.set_function(lambda: guard.queue_depth)
        self._guard = guard

    async def stop(self, grace: float | None = None) -> None:
        """Graceful drain: NOT_SERVING, stop accepting, finish accepted calls, then the batcher."""
        await self._health.enter_graceful_shutdown()
        await self._teardown(self.config.server.grace_s if grace is None else grace)

    async def _teardown(self, grace: float) -> None:
        if self._server is not None:
            await self._server.stop(grace)  # after `grace`, gRPC cancels the calls still running
            self._server = None
        self.vaults.clear()  # every pseudonym session's values are gone with the server
        if self._guard is not None:
            await self._guard.stop(timeout=0)  # no caller is left: stop long texts at their next slice
            self._guard = None
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._socket is not None:
            with contextlib.suppress(FileNotFoundError):
                self._socket.unlink()
            self._socket = None

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()


async def serve(config: GuardConfig, *, guard: AsyncGuard | None = None,
                ready: asyncio.Event | None = None, stop: asyncio.Event | None = None) -> GuardServer:
    """Run until SIGTERM or SIGINT (or `stop` is set), then drain. `ready` is set once serving."""
    server = GuardServer(config, guard=guard)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    # What is loaded now lives as long as the process: keep it out of the cyclic collector, whose full
    # passes otherwise rescan it on the loop thread while large requests come and go.
    gc.collect()
    gc.freeze()
    if ready is not None:
        ready.set()
    print(f"kguard: serving {server.target}"
          + (f", metrics on {config.server.metrics_host}:{server.metrics_port}" if server.metrics_port
             is not None else ""), file=sys.stderr, flush=True)
    await stop.wait()
    await server.stop()
    return server


def run_serve(config: GuardConfig) -> int:
    """`kguard serve` with the config guard/cli.py resolved: 0 after a clean shutdown, 2 with a one-line
    error when it cannot start."""
    try:
        asyncio.run(serve(config))
    except GuardError as exc:
        print(f"kguard serve: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def probe(target: str = ClientConfig.target, *, timeout_s: float = 2.0) -> int:
    """0 when the server's health says SERVING, else 1: for exec probes and Docker HEALTHCHECK
    (`python -m guard.server.app unix:///run/kguard/guard.sock`). Plaintext channels only."""
    target = f"unix:{target}" if target.startswith("/") else target
    with grpc.insecure_channel(target) as channel:
        try:
            response = _health_grpc.HealthStub(channel).Check(
                _health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
        except grpc.RpcError:
            return 1
    return 0 if response.status == _SERVING else 1


if __name__ == "__main__":
    sys.exit(probe(*sys.argv[1:2]))
