"""DICOM TLS (PS3.15 B): the Print SCP over TLS, with the handshake outside the accept loop so
that a silent client cannot block others (pitfall P9), and mutual TLS."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time

import pytest

from scp_fixtures import PRINTER, PRINTER_INSTANCE, InProcessServer, PrintSCU


def _cert(tmp_path, name: str, ca: tuple | None = None) -> tuple[str, str]:
    key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
           "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(crt),
           "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(cmd, check=True, capture_output=True)
    return str(crt), str(key)


@pytest.fixture
def tls_server(tmp_path):
    crt, key = _cert(tmp_path, "server")
    client_crt, client_key = _cert(tmp_path, "client")
    toml = (f'[dicom.tls]\ncertificate = "{crt}"\nprivate_key = "{key}"\n'
            f'ca_certificates = "{client_crt}"\nrequire_client_certificate = true\n')
    srv = InProcessServer(tmp_path / "srv", toml)
    yield srv, crt, (client_crt, client_key)
    srv.stop()


def _client_context(server_crt: str, client: tuple[str, str] | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=server_crt)
    if client:
        ctx.load_cert_chain(*client)
    return ctx


def test_tls_printer_get_with_client_certificate_while_silent_client_waits(tls_server):
    srv, server_crt, client = tls_server
    silent = socket.create_connection(("127.0.0.1", srv.port))  # connects, never speaks
    try:
        # the server accepted it and waits for its TLS handshake (up to the ACSE timeout, 30 s)
        deadline = time.monotonic() + 10
        while not srv.server.active_associations:
            assert time.monotonic() < deadline, "the silent connection was not accepted"
            time.sleep(0.01)
        (waiting,) = srv.server.active_associations
        with PrintSCU(srv.port, contexts=(PRINTER,),
                      tls=_client_context(server_crt, client)) as scu:
            r = scu.get(PRINTER, PRINTER_INSTANCE)
            assert r.status == 0 and r.dataset.PrinterStatus == "NORMAL"
        # served while the silent client's handshake still waits: not behind it
        assert waiting in srv.server.active_associations
    finally:
        silent.close()


def test_tls_without_client_certificate_refused(tls_server):
    srv, server_crt, _client = tls_server
    scu = PrintSCU(srv.port, contexts=(PRINTER,), tls=_client_context(server_crt, None))
    assert not scu.is_established
