"""The TCP listener of the Print SCP: one thread per association, at most ``max_associations``.

The accept loop only accepts: TLS handshakes and the A-ASSOCIATE exchange run on the new
association's thread, so a client that connects and stays silent blocks nobody (pitfall P9). An
association beyond the limit is answered with A-ASSOCIATE-RJ rejected-transient, local limit
exceeded (PS3.8 Table 9-21), after its request has been read.

Stopping never waits behind a peer: every association is asked to abort (:meth:`Association.abort`:
A-ABORT, or the ARTIM timer running out), and those still running after :data:`STOP_GRACE`
seconds (a peer that stopped reading holds a send, a handler still works) have their
connection shut down under them (:meth:`Association.close_transport`).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

from printserver.scp.transport.association import (Association, AssociationSettings,
                                                   ServiceUser)

log = logging.getLogger(__name__)

#: seconds the associations have to end by themselves once the server stops
STOP_GRACE = 2.0
#: seconds more for their threads, once their connections are shut down
STOP_JOIN = 5.0


class Listener:
    """Accepts connections on ``(host, port)`` and serves each as an :class:`Association`.

    Parameters
    ----------
    max_associations : int
        Associations served at once; 0 = no limit.
    """

    def __init__(self, host: str, port: int, user: ServiceUser, settings: AssociationSettings,
                 max_associations: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.user = user
        self.settings = settings
        self.max_associations = max_associations
        #: open connections at most, associated or not
        self.max_connections = max(4 * max_associations, 64) if max_associations else 1 << 16
        self.ssl_context = ssl_context
        self._lock = threading.Lock()
        self._active: set[Association] = set()
        self._established = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
            self._sock.listen(64)
        except OSError:
            self._sock.close()
            raise
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return host, port

    @property
    def active_associations(self) -> list[Association]:
        with self._lock:
            return list(self._active)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._accept_loop, name="print-scp-accept",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and abort the associations still open; returns within
        :data:`STOP_GRACE` + :data:`STOP_JOIN` seconds whatever the peers do."""
        self._stopping = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if self._thread is not None:
            self._thread.join(5)
        associations = self.active_associations
        for assoc in associations:
            assoc.abort()
        _join(associations, STOP_GRACE)
        for assoc in associations:
            if assoc.thread is not None and assoc.thread.is_alive():
                since = assoc.sending_since
                log.warning("association from %s (%s) still open after %g s%s: connection shut "
                            "down", assoc.calling_ae or "?", assoc.address[0], STOP_GRACE,
                            f", its peer took no data for {time.monotonic() - since:.1f} s"
                            if since is not None else "")
                assoc.close_transport()
        _join(associations, STOP_JOIN)

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, address = self._sock.accept()
            except OSError as exc:
                if self._stopping:
                    return
                log.error("accept failed: %s", exc)  # e.g. out of file descriptors
                time.sleep(0.1)
                continue
            if len(self._active) >= self.max_connections:
                # connected but not (yet) associated peers hold a thread each until the ARTIM
                # timer; beyond this many the connection is closed at once
                log.warning("connection from %s closed: %d connections open", address[0],
                            len(self._active))
                client.close()
                continue
            # Nagle + the peer's delayed ACK would cost ~40 ms per response of two PDUs
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            assoc = Association(client, address[:2], self.user, self.settings, self.ssl_context,
                                admit=self._admit, release=self._release)
            with self._lock:
                self._active.add(assoc)
            assoc.thread = threading.Thread(target=self._serve, args=(assoc,), daemon=True,
                                            name=f"association-{address[0]}:{address[1]}")
            assoc.thread.start()

    def _admit(self, assoc: Association) -> bool:
        """Count ``assoc`` as established, unless the limit is reached."""
        with self._lock:
            if self.max_associations and self._established >= self.max_associations:
                return False
            self._established += 1
            assoc.counted = True
            return True

    def _release(self, assoc: Association) -> None:
        """``assoc`` no longer counts against the limit (rejected, or ended)."""
        with self._lock:
            if assoc.counted:
                assoc.counted = False
                self._established -= 1

    def _serve(self, assoc: Association) -> None:
        try:
            assoc.run()
        finally:
            self._release(assoc)
            with self._lock:
                self._active.discard(assoc)


def _join(associations: list[Association], seconds: float) -> None:
    """Wait up to ``seconds`` in all for the associations' threads to end."""
    deadline = time.monotonic() + seconds
    for assoc in associations:
        if assoc.thread is not None:
            assoc.thread.join(max(0.0, deadline - time.monotonic()))
