"""The web server of ``printserver serve``: the application (:func:`web.create_app`) in cheroot.

cheroot is CherryPy's production WSGI server: a pool of threads, a graceful stop (no new
connection; requests in progress finish, up to :data:`SHUTDOWN_SECONDS`), and TLS of its own, so
that ``[web] certificate`` / ``private_key`` give HTTPS (TLS 1.2 or later) without a proxy.

At start, while there is no user, a one-time setup token is issued and logged once at WARNING
with the setup page's address (``web/auth.py``, :mod:`printserver.accounts.setup`).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from printserver.config import Config
from printserver.errors import ConfigError, PrintserverError
from web import close_app, create_app
from web.context import context

log = logging.getLogger(__name__)

#: request threads (each serves one connection at a time; pages answer in milliseconds)
THREADS = 8
#: seconds a stop waits for requests in progress
SHUTDOWN_SECONDS = 5
#: seconds a connection may stay silent
CONNECTION_TIMEOUT = 30


class _Server(wsgi.Server):
    """cheroot's server with its messages in our log instead of on stderr."""

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        log.log(level, "%s", msg, exc_info=traceback)


def tls_adapter(certificate: str, private_key: str) -> BuiltinSSLAdapter:
    try:
        adapter = BuiltinSSLAdapter(certificate, private_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"web: cannot use certificate {certificate} and private key "
                          f"{private_key}: {exc}") from None
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    return adapter


def _url_host(host: str) -> str:
    """The host of the server's URL: this machine's name when it listens on every address."""
    if host in ("", "0.0.0.0", "::"):
        return socket.getfqdn()
    return f"[{host}]" if ":" in host else host


class WebServer:
    """The web UI and JSON API of one ``serve``, on ``[web] host:port``.

    Parameters
    ----------
    config
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the running server."""
        web = self.config.web
        return f"{'https' if web.https else 'http'}://{_url_host(web.host)}:{self.port}"

    def start(self) -> None:
        """Build the application, listen, serve on a thread; log the address (and the setup
        token while there is no user).

        Raises
        ------
        PrintserverError
            The port cannot be bound, or the certificate cannot be used.
        """
        web = self.config.web
        self.app = create_app(self.config)  # its own services (closed by close_app)
        server = _Server((web.host, web.port), self.app, numthreads=THREADS,
                         server_name="printserver", timeout=CONNECTION_TIMEOUT,
                         shutdown_timeout=SHUTDOWN_SECONDS)
        if web.https:
            server.ssl_adapter = tls_adapter(web.certificate, web.private_key)
        try:
            server.prepare()
        except OSError as exc:
            close_app(self.app)
            raise PrintserverError(f"web: cannot listen on {web.host}:{web.port}: "
                                   f"{exc.strerror or exc}") from None
        self._server = server
        self.port = server.bind_addr[1]
        self._thread = threading.Thread(target=server.serve, name="web", daemon=True)
        self._thread.start()
        log.info("web UI on %s", self.url)
        self._announce_setup()

    def _announce_setup(self) -> None:
        with self.app.app_context():
            setup = context().accounts.setup
            if setup.needed():
                token, expires = setup.issue()
                log.warning("first run: create the first admin at %s/setup with the setup token "
                            "%s (valid until %s UTC)", self.url, token,
                            f"{expires:%Y-%m-%d %H:%M}")

    def stop(self) -> None:
        """Stop listening, let requests in progress finish, close the services."""
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(SHUTDOWN_SECONDS + 5)
        if self.app is not None:
            close_app(self.app)
        self._server = self._thread = self.app = None
