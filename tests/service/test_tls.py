"""TLS and mutual TLS from certificate files (made with the openssl command line)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from guard.client import AsyncGuardClient, RetryPolicy
from guard.errors import ServiceError
from tests.service.conftest import RRN_TEXT, StartServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="the openssl command is not installed")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)
    return d


async def test_tls(start_server: StartServer, pki: Path) -> None:
    server = await start_server(server={"tls_cert": pki / "server.crt", "tls_key": pki / "server.key"})
    async with AsyncGuardClient(server.target, root_certificates=pki / "ca.crt") as client:
        assert "P1" in (await client.check(RRN_TEXT)).categories
    async with AsyncGuardClient(server.target, timeout_s=2, retry=RetryPolicy(max_retries=0)) as plain:
        with pytest.raises(ServiceError):  # plaintext against a TLS port
            await plain.check("hello")


async def test_mutual_tls(start_server: StartServer, pki: Path) -> None:
    server = await start_server(server={"tls_cert": pki / "server.crt", "tls_key": pki / "server.key",
                                        "tls_client_ca": pki / "ca.crt"})
    async with AsyncGuardClient(server.target, root_certificates=pki / "ca.crt",
                                client_cert=pki / "client.crt", client_key=pki / "client.key") as client:
        assert (await client.check("hello")).safe
    async with AsyncGuardClient(server.target, root_certificates=pki / "ca.crt", timeout_s=2,
                                retry=RetryPolicy(max_retries=0)) as anonymous:
        with pytest.raises(ServiceError) as info:  # no client certificate: the handshake fails
            await anonymous.check("hello")
        assert info.value.code == "UNAVAILABLE"
