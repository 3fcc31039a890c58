"""Transport security beyond tests/service/test_tls.py (TLS, mutual TLS, a client without a certificate,
owner-only socket): the certificates that must be refused and the unix socket's permissions from the
moment it exists.

Certificates are made in the test with the openssl command line: a trusted CA with a server and a
client certificate, and a rogue CA with its own client and server certificates.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from guard.client import AsyncGuardClient, RetryPolicy
from guard.errors import ConfigError, ServiceError
from tests.service.conftest import StartServer

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is missing")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=d)


def _cert(d: Path, name: str, ca: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext + "\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "rogue-ca")
    _cert(d, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    _cert(d, "client", "ca", "extendedKeyUsage=clientAuth")
    _cert(d, "rogue-client", "rogue-ca", "extendedKeyUsage=clientAuth")
    _cert(d, "rogue-server", "rogue-ca", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    return d


async def _refused(target: str, **kwargs: object) -> ServiceError:
    async with AsyncGuardClient(target, timeout_s=3, retry=RetryPolicy(max_retries=0), **kwargs) as client:
        with pytest.raises(ServiceError) as info:
            await client.check("hello")
    return info.value


@needs_openssl
async def test_mutual_tls_refuses_every_client_without_a_trusted_certificate(start_server: StartServer,
                                                                              pki: Path) -> None:
    server = await start_server(server={"tls_cert": pki / "server.crt", "tls_key": pki / "server.key",
                                        "tls_client_ca": pki / "ca.crt"})
    ca = pki / "ca.crt"
    rogue = await _refused(server.target, root_certificates=ca, client_cert=pki / "rogue-client.crt",
                           client_key=pki / "rogue-client.key")  # signed by a CA the server does not trust
    assert rogue.code == "UNAVAILABLE"
    mismatched = await _refused(server.target, root_certificates=ca, client_cert=pki / "client.crt",
                                client_key=pki / "rogue-client.key")  # a key that is not the cert's
    assert mismatched.code == "UNAVAILABLE"
    plaintext = await _refused(server.target)
    assert plaintext.code == "UNAVAILABLE"
    async with AsyncGuardClient(server.target, root_certificates=ca, client_cert=pki / "client.crt",
                                client_key=pki / "client.key") as good:
        assert (await good.check("hello")).safe  # and the right one still gets in


@needs_openssl
async def test_client_refuses_a_server_it_cannot_verify(start_server: StartServer, pki: Path) -> None:
    server = await start_server(server={"tls_cert": pki / "rogue-server.crt",
                                        "tls_key": pki / "rogue-server.key"})
    untrusted = await _refused(server.target, root_certificates=pki / "ca.crt")  # an impostor sidecar
    assert untrusted.code == "UNAVAILABLE"
    honest = await start_server(server={"tls_cert": pki / "server.crt", "tls_key": pki / "server.key"})
    wrong_name = await _refused(honest.target, root_certificates=pki / "ca.crt", server_name="guard.example")
    assert wrong_name.code == "UNAVAILABLE"


async def test_bad_tls_settings_are_config_errors(start_server: StartServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        await start_server(server={"tls_cert": tmp_path / "missing.crt", "tls_key": tmp_path / "missing.key"})
    with pytest.raises(ConfigError):
        await start_server(server={"tls_cert": tmp_path / "only-cert.crt"})
    with pytest.raises(ConfigError):
        await start_server(server={"tls_client_ca": tmp_path / "ca.crt"})


async def test_unix_socket_is_owner_only_from_creation(start_server: StartServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Even under umask 000 in a world-writable folder, and without the chmod after binding, the socket
    is created 0600: no other user can connect in the moment between bind and chmod."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    sock = shared / "guard.sock"
    monkeypatch.setattr("guard.server.app.os.chmod", lambda path, mode: None)
    old = os.umask(0)
    try:
        server = await start_server(server={"unix_socket": str(sock)})
    finally:
        os.umask(old)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert os.umask(old) == old  # the process umask was restored
    async with AsyncGuardClient(server.target) as client:
        assert (await client.check("hello")).safe


async def test_stale_socket_is_replaced_and_a_regular_file_is_not(start_server: StartServer,
                                                                  tmp_path: Path) -> None:
    import socket

    sock = tmp_path / "guard.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock))  # a socket file left by a crashed server
    stale.close()
    server = await start_server(server={"unix_socket": str(sock)})
    async with AsyncGuardClient(server.target) as client:
        assert (await client.check("hello")).safe
    precious = tmp_path / "data.txt"
    precious.write_text("keep me")
    with pytest.raises(ConfigError):
        await start_server(server={"unix_socket": str(precious)})
    assert precious.read_text() == "keep me"


async def test_a_second_server_does_not_take_over_a_live_socket(start_server: StartServer, tmp_path: Path) -> None:
    sock = tmp_path / "guard.sock"
    first = await start_server(server={"unix_socket": str(sock)})
    inode = sock.stat().st_ino
    with pytest.raises(ConfigError) as info:
        await start_server(server={"unix_socket": str(sock)})
    assert "another server is listening" in str(info.value)
    assert sock.stat().st_ino == inode  # the first server's socket is still the one at that path
    async with AsyncGuardClient(first.target) as client:
        assert (await client.check("hello")).safe


def _pem(tag: str, body: bytes) -> str:
    import base64

    return f"-----BEGIN {tag}-----\n{base64.encodebytes(body).decode()}-----END {tag}-----\n"


async def test_a_garbage_certificate_is_named_as_such(start_server: StartServer, tmp_path: Path) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    for garbage in (b"not a certificate at all\n", _pem("CERTIFICATE", b"\x30\x82garbage" * 20).encode()):
        cert.write_bytes(garbage)
        key.write_bytes(b"not a key\n")
        with pytest.raises(ConfigError) as info:
            await start_server(server={"tls_cert": cert, "tls_key": key})
        message = str(info.value)
        assert "TLS certificate" in message and str(cert) in message and "cannot listen" not in message


@needs_openssl
async def test_a_bad_or_mismatched_key_is_named_as_such(start_server: StartServer, pki: Path,
                                                        tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.key"
    garbage.write_text(_pem("PRIVATE KEY", b"\x30\x82garbage" * 20))
    with pytest.raises(ConfigError) as info:
        await start_server(server={"tls_cert": pki / "server.crt", "tls_key": garbage})
    assert "TLS key" in str(info.value) and str(garbage) in str(info.value)
    with pytest.raises(ConfigError) as info:
        await start_server(server={"tls_cert": pki / "server.crt", "tls_key": pki / "client.key"})
    assert "does not match" in str(info.value)
    ca_garbage = tmp_path / "ca.crt"
    ca_garbage.write_text("no CA here\n")
    with pytest.raises(ConfigError) as info:
        await start_server(server={"tls_cert": pki / "server.crt", "tls_key": pki / "server.key",
                                   "tls_client_ca": ca_garbage})
    assert "client CA" in str(info.value) and str(ca_garbage) in str(info.value)


async def test_a_port_out_of_range_is_refused(start_server: StartServer,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from guard.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:  # argparse: usage error, exit code 2
        build_parser().parse_args(["serve", "--port", "70000"])
    assert exit_info.value.code == 2 and "70000 is out of range" in capsys.readouterr().err
    for port in (70000, -1):  # KGUARD_SERVER_PORT or a config object: no silent wrap to 4464
        with pytest.raises(ConfigError) as info:
            await start_server(server={"port": port})
        assert "out of range" in str(info.value)
