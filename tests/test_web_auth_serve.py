"""The web server of a real ``printserver serve``: served by cheroot beside the SCP, the setup
token logged once, graceful stop, HTTPS with [web] certificate (TLS 1.2 or later, Secure
cookies), [web] enabled = false, and two serves on one PostgreSQL store sharing the secret key
and so the sessions."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest

from accounts_helpers import PASSWORD
from web.server import tls_adapter
from web_fixtures import HttpClient


def test_serve_answers_http_and_logs_the_setup_token_once(print_scp):
    http = HttpClient(print_scp.base_url)
    status, headers, body = http.get("/api/health")
    assert status == 200 and body == '{"status":"ok","version":"0.1.0"}\n'
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    log = print_scp.log_path.read_text()
    assert f"INFO web.server: web UI on {print_scp.base_url}" in log
    warnings = [line for line in log.splitlines() if "setup token" in line]
    assert len(warnings) == 1 and " WARNING " in warnings[0]
    assert f"{print_scp.base_url}/setup" in warnings[0]
    token = print_scp.setup_token()
    assert http.get("/signin")[1]["Location"] == "/setup"
    status, headers, _ = http.post_form("/setup", {"token": token, "name": "root",
                                                   "password": PASSWORD, "password2": PASSWORD})
    assert status == 302 and headers["Location"] == "/"
    status, _, page = http.get("/")
    assert status == 200 and "Dashboard" in page and "root" in page
    # a restart with a user issues no token
    print_scp.restart()
    assert len([l for l in print_scp.log_path.read_text().splitlines() if "setup token" in l]) == 1
    assert HttpClient(print_scp.base_url).sign_in("root")[0] == 302


def test_serve_stops_its_web_server_gracefully(print_scp):
    assert HttpClient(print_scp.base_url).get("/api/health")[0] == 200
    assert print_scp.stop() == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", print_scp.web_port), timeout=2).close()


def test_without_the_web_server_serve_still_prints(print_scp_factory):
    scp = print_scp_factory("[web]\nenabled = false\n")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", scp.web_port), timeout=2).close()
    assert "web UI on" not in scp.log_path.read_text()


def test_a_busy_web_port_is_a_clean_error(print_scp_factory, tmp_path):
    import sys

    from scp_fixtures import REPO, free_port

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        ran = subprocess.run([sys.executable, "-m", "printserver", "serve", "--data-dir",
                              str(tmp_path), "--dicom-port", str(free_port()), "--web-port",
                              str(blocker.getsockname()[1])], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    assert ran.returncode == 2 and "web: cannot listen on 127.0.0.1:" in ran.stderr
    assert "Traceback" not in ran.stderr


def _certificate(folder) -> tuple[str, str]:
    key, crt = folder / "web.key", folder / "web.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(crt),
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(crt), str(key)


def test_https_with_the_web_certificate(print_scp_factory, tmp_path):
    crt, key = _certificate(tmp_path)
    scp = print_scp_factory(f'[web]\ncertificate = "{crt}"\nprivate_key = "{key}"\n'
                            "[workers]\ncount = 0\n")
    base = f"https://127.0.0.1:{scp.web_port}"
    assert f"web UI on {base}" in scp.log_path.read_text()
    assert f"{base}/setup" in scp.log_path.read_text()
    context = ssl.create_default_context(cafile=crt)
    http = HttpClient(base, context)
    status, headers, _ = http.get("/api/health")
    assert status == 200 and "max-age" in headers["Strict-Transport-Security"]
    status, headers, _ = http.post_form("/setup", {"token": scp.setup_token(), "name": "root",
                                                   "password": PASSWORD, "password2": PASSWORD})
    assert status == 302 and "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
    with socket.create_connection(("127.0.0.1", scp.web_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert tls_adapter(crt, key).context.minimum_version is ssl.TLSVersion.TLSv1_2
    try:  # plain HTTP on the HTTPS port gets no page (cheroot answers 400, or closes)
        plain = HttpClient(f"http://127.0.0.1:{scp.web_port}").get("/api/health")[0]
    except OSError:
        plain = None
    assert plain != 200


NODE_CONFIG = """
database_url = "{url}"
spool = "{spool}"

[workers]
count = 0
"""


@pytest.mark.slow
def test_two_serves_on_one_postgresql_share_the_secret_and_the_sessions(print_scp_factory,
                                                                        postgres, tmp_path):
    config = NODE_CONFIG.format(url=postgres.new_database(), spool=tmp_path / "spool")
    a = print_scp_factory(config, data_dir=tmp_path / "node-a")
    b = print_scp_factory(config, data_dir=tmp_path / "node-b")
    http = HttpClient(a.base_url)
    status, _, _ = http.post_form("/setup", {"token": b.setup_token(), "name": "root",
                                             "password": PASSWORD, "password2": PASSWORD})
    assert status == 302  # B's token works on A: one database
    with pytest.raises(AssertionError):  # and A's token is gone with it
        assert HttpClient(a.base_url).post_form("/setup", {
            "token": a.setup_token(), "name": "x", "password": PASSWORD,
            "password2": PASSWORD})[0] == 302
    http.base_url = b.base_url  # the same cookie, the other node
    status, _, page = http.get("/")
    assert status == 200 and "root" in page
    status, _, _ = http.post_form("/signout", {}, page="/")  # a CSRF token of A's page… on B
    assert status == 302 and http.get("/")[0] == 302
