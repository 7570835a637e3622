"""The Print SCP listener: application entity, presentation contexts, TLS and limits.

Contexts (PS3.4 H.3): Verification, Basic Grayscale Print Management Meta, Presentation LUT, Print
Job, Basic Annotation Box, Printer Configuration Retrieval, a stand-alone Printer (status-only
associations) and, leniently, Basic Film Session / Film Box / Grayscale Image Box proposed on
their own; each with Implicit VR LE, Explicit VR LE and Explicit VR BE.

TLS (PS3.15 B): the handshake runs in the association's thread, not in the accept loop, so that a
client that connects and stays silent cannot block others (pitfall P9).
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import threading

from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.transport import ThreadedAssociationServer

from printserver.config import Config, TLSConfig
from printserver.errors import ConfigError
from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore, open_job_store
from printserver.scp.handlers import PrintHandlers
from printserver.scp.model import (ANNOTATION_BOX, FILM_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX,
                                   GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB, PRINTER,
                                   PRINTER_CONFIGURATION, VERIFICATION)
from printserver.scp.notifier import EventNotifier
from printserver.scp.print_job import JobWriter

log = logging.getLogger(__name__)

#: in order of preference: pynetdicom accepts the first of these that the SCU proposed. Explicit VR
#: first (as DCMTK's dcmprscp does): the VRs travel with the data, e.g. US vs SS LUT Descriptors.
TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
#: seconds to wait for a DIMSE message; also how long an N-EVENT-REPORT waits for its answer
DIMSE_TIMEOUT = 30
ABSTRACT_SYNTAXES = [VERIFICATION, GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB, ANNOTATION_BOX,
                     PRINTER_CONFIGURATION, PRINTER, FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX]


class LazyTLSAssociationServer(ThreadedAssociationServer):
    """Association server that defers the TLS handshake to the association thread (pitfall P9)."""

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        assert self.socket is not None
        client, address = self.socket.accept()
        # Nagle + the peer's delayed ACK cost ~40 ms per response sent as two PDUs (command,
        # data set): 16 image box N-SETs from dcmprscu took 3x longer than with TCP_NODELAY.
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context:
            client.settimeout(self.ae.acse_timeout)
            client = self.ssl_context.wrap_socket(client, server_side=True,
                                                  do_handshake_on_connect=False)
        return client, address


def tls_context(tls: TLSConfig) -> ssl.SSLContext | None:
    """Server TLS context from the configuration, None when no certificate is configured."""
    if not tls.certificate and not tls.private_key:
        return None
    if not (tls.certificate and tls.private_key):
        raise ConfigError("dicom.tls: certificate and private_key must both be set")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(tls.certificate, tls.private_key)
        if tls.ca_certificates:
            ctx.load_verify_locations(tls.ca_certificates)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"dicom.tls: {exc}") from None
    if tls.require_client_certificate:
        if not tls.ca_certificates:
            raise ConfigError("dicom.tls.require_client_certificate needs ca_certificates")
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class PrintServer:
    """The Print SCP of one configuration.

    Parameters
    ----------
    config : Config
    store : JobStore, optional
        Defaults to the configuration's job store (SQLite in ``data_dir``).
    """

    def __init__(self, config: Config, store: JobStore | None = None) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_job_store(config)
        self.spool = Spool(config.spool_dir)
        self.spool.clear_staging()
        self._check_spool()
        limits = config.dicom.limits
        self.events = EventNotifier(self.store, self.spool.root,
                                    limits.max_spool_bytes_per_association, DIMSE_TIMEOUT,
                                    print_job_events=config.dicom.print_job_events,
                                    max_queued_jobs=limits.max_queued_jobs)
        self.handlers = PrintHandlers(config, JobWriter(self.spool, self.store), self.events)
        ae = AE(ae_title=config.printers[0].ae_title)
        ae.require_called_aet = False  # checked per printer in PrintHandlers.on_requested
        ae.maximum_associations = limits.max_associations
        ae.maximum_pdu_size = limits.max_pdu_size
        ae.network_timeout = limits.network_timeout
        ae.acse_timeout = 30
        ae.dimse_timeout = DIMSE_TIMEOUT
        for uid in ABSTRACT_SYNTAXES:
            ae.add_supported_context(uid, TRANSFER_SYNTAXES)
        self.ae = ae
        self._server: ThreadedAssociationServer | None = None
        self._thread: threading.Thread | None = None

    def _check_spool(self) -> None:
        known = {job.spool_dir for job in self.store.list()}
        for name in self.spool.orphans(known):
            path = self.spool.root / name
            if name.startswith(".tmp-"):
                shutil.rmtree(path, ignore_errors=True)
            else:
                log.warning("spool folder %s has no job row (never acknowledged); left alone", path)

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        assert self._server is not None
        return self._server.server_address[1]

    def start(self) -> None:
        """Bind and serve in a background thread."""
        d = self.config.dicom
        server = self.ae.make_server(
            (d.host, d.port), evt_handlers=self.handlers.bindings(),
            ssl_context=tls_context(d.tls), server_class=LazyTLSAssociationServer)
        self.ae._servers.append(server)  # so that AE.shutdown() stops it too
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="print-scp-accept",
                                        daemon=True)
        self._thread.start()
        self.events.start()
        log.info("Print SCP listening on %s:%d (%s), AE titles %s, data in %s",
                 d.host, self.port, "TLS" if server.ssl_context else "no TLS",
                 ", ".join(p.ae_title for p in self.config.printers), self.config.data_dir)

    def stop(self) -> None:
        """Stop accepting, end open associations, close the job store."""
        if self._server is not None:
            self._server.shutdown()
            for assoc in list(self.ae.active_associations):
                assoc.abort()
            self._server.server_close()
            if self._server in self.ae._servers:
                self.ae._servers.remove(self._server)
            self._server = None
        self.events.stop()
        self.spool.close()
        self.store.close()
        log.info("Print SCP stopped")

    def __enter__(self) -> PrintServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
